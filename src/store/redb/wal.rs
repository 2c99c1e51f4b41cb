//! The write-ahead log: what makes a write batch durable without a durable redb commit.
//!
//! A durable redb commit writes every page the batch touched, scattered over the file, and
//! fsyncs them: on a virtual disk that costs ~2 ms however little the batch carries, and the
//! writer can do nothing else meanwhile. Instead, each batch's changes (every insert and remove,
//! as the bytes redb stores) are appended here as one record and fsync'd — one sequential write —
//! and redb commits the batch without syncing. Every [`super::writer`] checkpoint (about once a
//! second, and whenever the log passes [`CHECKPOINT_BYTES`]) makes redb durable and starts the
//! log over from its beginning.
//!
//! After a crash, redb opens at its last checkpoint (its non-durable commits are gone) and the
//! records written since are applied again, in order, before anything else reads the store.
//!
//! ## Layout
//!
//! The file is overwritten from offset 0 after each checkpoint, never truncated (overwriting
//! blocks a file already has is cheaper to sync than growing it). Its whole size is reserved on
//! the disk when it is opened ([`RESERVED_BYTES`]: the most the log can hold between two
//! checkpoints), so a full disk never makes a record fail half-written: the log is the one
//! place hookd writes that can never run out of space. A record is
//!
//! ```text
//! magic u32 | payload length u32 | log id u64 | seq u64 | crc32 of (log id, seq, payload) u32 | payload
//! ```
//!
//! and the payload is a list of operations, each
//! `table u8 | kind u8 (1 insert, 2 remove) | key length u32 | key | [value length u32 | value]`.
//! Records carry consecutive sequence numbers; the store keeps the sequence number of the last
//! record its latest checkpoint includes. They also carry the store's log id, which is new at
//! every open and in every backup: a file put in place of `hookd.redb` never takes records from
//! a log written before. Reading stops at the first record that is torn (bad checksum or
//! length), is another log's, or does not continue the sequence: what lies beyond is older than
//! the last checkpoint.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// The log file's name inside the data directory.
pub const WAL_FILE: &str = "hookd.wal";

/// Past this many bytes of log, the writer checkpoints at once (bounds the file and the replay).
pub const CHECKPOINT_BYTES: u64 = 32 * 1024 * 1024;

/// A batch whose changes exceed this is not logged but committed durably by redb itself (a
/// checkpoint): its pages would otherwise be written twice, once to the log and again at the
/// next checkpoint, and past a few hundred KiB that costs more than redb's fixed ~2 ms per
/// durable commit (the batch endpoint under load makes batches of several MiB). It also bounds
/// a record, and so the log's size.
pub const DIRECT_BYTES: usize = 256 * 1024;

/// The log's size on disk, reserved when it is opened: the writer checkpoints once the log
/// passes [`CHECKPOINT_BYTES`], so the log never holds more than that plus one record of at
/// most [`DIRECT_BYTES`].
pub const RESERVED_BYTES: u64 = CHECKPOINT_BYTES + DIRECT_BYTES as u64 + HEADER_LEN as u64;

const MAGIC: u32 = 0x484b_574c; // "HKWL"
const HEADER_LEN: usize = 4 + 4 + 8 + 8 + 4;
/// A batch's buffer keeps at most this much memory between batches.
const KEPT_BUFFER: usize = 1024 * 1024;
/// No record is larger: a longer length field is a torn or foreign record.
const MAX_PAYLOAD: usize = 1 << 30;

/// An operation's kind in a record.
pub const OP_INSERT: u8 = 1;
pub const OP_REMOVE: u8 = 2;

/// One batch's changes, appended to as the batch runs. The record's header is kept free at
/// the front, so the record is written from this buffer as it stands, without a copy.
pub struct LogBuffer {
    bytes: Vec<u8>,
}

impl Default for LogBuffer {
    fn default() -> Self {
        LogBuffer {
            bytes: vec![0; HEADER_LEN],
        }
    }
}

impl LogBuffer {
    /// Notes an insert of `value` under `key` into table number `table`.
    pub fn insert(&mut self, table: u8, key: &[u8], value: &[u8]) {
        self.op(table, OP_INSERT, key);
        self.bytes
            .extend_from_slice(&(value.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(value);
    }

    /// Notes a removal of `key` from table number `table`.
    pub fn remove(&mut self, table: u8, key: &[u8]) {
        self.op(table, OP_REMOVE, key);
    }

    fn op(&mut self, table: u8, kind: u8, key: &[u8]) {
        self.bytes.push(table);
        self.bytes.push(kind);
        self.bytes
            .extend_from_slice(&(key.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(key);
    }

    /// True when the batch changed nothing.
    pub fn is_empty(&self) -> bool {
        self.bytes.len() == HEADER_LEN
    }

    /// The size of the operations noted so far.
    pub fn len(&self) -> usize {
        self.payload().len()
    }

    /// The operations noted so far.
    fn payload(&self) -> &[u8] {
        &self.bytes[HEADER_LEN..]
    }

    /// Forgets the batch's changes, keeping the allocation for the next one unless a large
    /// batch made it large.
    pub fn clear(&mut self) {
        if self.bytes.capacity() > KEPT_BUFFER {
            *self = LogBuffer::default();
        } else {
            self.bytes.truncate(HEADER_LEN);
        }
    }
}

/// One logged operation, as read back.
#[derive(Debug, PartialEq, Eq)]
pub struct Op<'a> {
    pub table: u8,
    pub kind: u8,
    pub key: &'a [u8],
    /// Empty for a removal.
    pub value: &'a [u8],
}

/// Splits a record's payload into its operations; `None` if it does not parse (which a record
/// whose checksum matched never does, short of a bug).
pub fn ops(payload: &[u8]) -> Option<Vec<Op<'_>>> {
    let mut out = Vec::new();
    let mut rest = payload;
    while !rest.is_empty() {
        let head = take(&mut rest, 2)?;
        let (table, kind) = (head[0], head[1]);
        let key_len = length(&mut rest)?;
        let key = take(&mut rest, key_len)?;
        let value = match kind {
            OP_INSERT => {
                let value_len = length(&mut rest)?;
                take(&mut rest, value_len)?
            }
            OP_REMOVE => &[],
            _ => return None,
        };
        out.push(Op {
            table,
            kind,
            key,
            value,
        });
    }
    Some(out)
}

/// The first `n` bytes of `rest`, which moves past them.
fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if rest.len() < n {
        return None;
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Some(head)
}

/// A length field.
fn length(rest: &mut &[u8]) -> Option<usize> {
    let bytes = take(rest, 4)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?) as usize)
}

/// The open log file and where the next record goes.
pub struct Wal {
    file: File,
    path: PathBuf,
    /// The store's log id, written in every record; records with another are not this store's.
    log_id: u64,
    /// Where the next record is written.
    position: u64,
}

impl Wal {
    /// Opens (or creates) the log in `data_dir` and reserves its whole size on the disk. A new
    /// file's directory entry is synced, so the log itself survives a crash.
    pub fn open(data_dir: &Path, log_id: u64) -> io::Result<Wal> {
        let path = data_dir.join(WAL_FILE);
        let existed = path.exists();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        if file.metadata()?.len() < RESERVED_BYTES {
            super::disk::reserve(&file, RESERVED_BYTES)?;
            file.sync_all()?;
        }
        if !existed {
            File::open(data_dir)?.sync_all()?;
        }
        Ok(Wal {
            file,
            path,
            log_id,
            position: 0,
        })
    }

    /// The file's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The payloads of the records that follow the checkpoint at `checkpoint` (its sequence
    /// number), in order. Fails, with a message for the operator, when the log is damaged:
    /// records it must have are missing while later ones are intact.
    pub fn records_after(&self, checkpoint: u64) -> io::Result<Vec<(u64, Vec<u8>)>> {
        let bytes = std::fs::read(&self.path)?;
        let mut out: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut offset = 0usize;
        let mut last: Option<u64> = None;
        while let Some((seq, payload, next)) = parse_record(&bytes, offset, self.log_id) {
            if last.is_some_and(|p| seq != p + 1) {
                break;
            }
            if seq > checkpoint {
                let want = out.last().map_or(checkpoint + 1, |(s, _)| s + 1);
                if seq != want {
                    // A gap after the checkpoint: found as damage below.
                    break;
                }
                out.push((seq, payload.to_vec()));
            }
            last = Some(seq);
            offset = next;
        }
        // Reading stopped at `offset`. What lies beyond is older than the checkpoint (an earlier
        // generation of the log), unless the record there is damaged and acknowledged records
        // follow it.
        let expected = last.map_or(checkpoint, |l| l.max(checkpoint)) + 1;
        if let Some(later) = intact_records_from(&bytes, offset, self.log_id)
            .filter(|&seq| seq >= expected)
            .max()
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the log {path} is damaged at record {expected} (byte {offset}), and intact \
                     records follow it (up to record {later}): they were acknowledged, so hookd \
                     will not cut the log there. To start anyway and lose the writes from record \
                     {expected} on, move the log aside (`mv {path} {path}.damaged`) and start \
                     hookd again: the store then holds what it held at its last checkpoint",
                    path = self.path.display()
                ),
            ));
        }
        Ok(out)
    }

    /// Appends one record (the batch's changes in `log`, whose header this fills in) and waits
    /// until it is on disk.
    pub fn append(&mut self, seq: u64, log: &mut LogBuffer) -> io::Result<()> {
        let len = log.payload().len();
        if len > MAX_PAYLOAD || self.position + log.bytes.len() as u64 > RESERVED_BYTES {
            // The writer's checkpoints keep the log within its reserved size; past it a record
            // could fail half-written on a full disk.
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a write batch does not fit in the log's reserved space",
            ));
        }
        let crc = checksum(self.log_id, seq, log.payload());
        let mut header = [0u8; HEADER_LEN];
        header[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        header[4..8].copy_from_slice(&(len as u32).to_le_bytes());
        header[8..16].copy_from_slice(&self.log_id.to_le_bytes());
        header[16..24].copy_from_slice(&seq.to_le_bytes());
        header[24..28].copy_from_slice(&crc.to_le_bytes());
        log.bytes[..HEADER_LEN].copy_from_slice(&header);
        self.file.write_all_at(&log.bytes, self.position)?;
        self.file.sync_data()?;
        self.position += log.bytes.len() as u64;
        Ok(())
    }

    /// Bytes written since the last checkpoint.
    pub fn len(&self) -> u64 {
        self.position
    }

    /// True when nothing was written since the last checkpoint.
    pub fn is_empty(&self) -> bool {
        self.position == 0
    }

    /// Starts over from the beginning: call only once redb holds everything logged so far
    /// durably (the records left in the file are then older than the store's checkpoint).
    pub fn restart(&mut self) {
        self.position = 0;
    }
}

/// The sequence numbers of the intact records of log `log_id` that start at or after `from`,
/// found by looking for the record magic anywhere (a damaged record's length cannot be
/// trusted to find the next one). The search is memchr's vectorised one: after a clean stop
/// the whole reserved file is searched at every start.
fn intact_records_from(bytes: &[u8], from: usize, log_id: u64) -> impl Iterator<Item = u64> + '_ {
    const MAGIC_BYTES: [u8; 4] = MAGIC.to_le_bytes();
    let rest = bytes.get(from..).unwrap_or_default();
    memchr::memmem::find_iter(rest, &MAGIC_BYTES)
        .filter_map(move |at| parse_record(bytes, from + at, log_id).map(|(seq, _, _)| seq))
}

/// The checksum of a record: over its log id, sequence number and payload.
fn checksum(log_id: u64, seq: u64, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&log_id.to_le_bytes());
    hasher.update(&seq.to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
}

/// The record of log `log_id` at `offset`: its sequence number, payload and the next record's
/// offset; `None` at the end of the file, or at a torn record or another log's.
fn parse_record(bytes: &[u8], offset: usize, log_id: u64) -> Option<(u64, &[u8], usize)> {
    let mut header = bytes.get(offset..offset.checked_add(HEADER_LEN)?)?;
    let magic = u32::from_le_bytes(take(&mut header, 4)?.try_into().ok()?);
    let len = length(&mut header)?;
    let id = u64::from_le_bytes(take(&mut header, 8)?.try_into().ok()?);
    let seq = u64::from_le_bytes(take(&mut header, 8)?.try_into().ok()?);
    let crc = u32::from_le_bytes(take(&mut header, 4)?.try_into().ok()?);
    if magic != MAGIC || id != log_id || len > MAX_PAYLOAD {
        return None;
    }
    let start = offset + HEADER_LEN;
    let payload = bytes.get(start..start.checked_add(len)?)?;
    (checksum(log_id, seq, payload) == crc).then_some((seq, payload, start + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (table, key, value to insert or `None` to remove)
    type TestOp<'a> = (u8, &'a [u8], Option<&'a [u8]>);

    fn buffer(ops: &[TestOp<'_>]) -> LogBuffer {
        let mut log = LogBuffer::default();
        for (table, key, value) in ops {
            match value {
                Some(v) => log.insert(*table, key, v),
                None => log.remove(*table, key),
            }
        }
        log
    }

    #[test]
    fn operations_read_back_as_written() {
        let log = buffer(&[
            (3, b"k1", Some(b"value")),
            (4, b"k2", None),
            (3, b"", Some(b"")),
        ]);
        let read = ops(log.payload()).unwrap();
        assert_eq!(
            read,
            vec![
                Op {
                    table: 3,
                    kind: OP_INSERT,
                    key: b"k1",
                    value: b"value"
                },
                Op {
                    table: 4,
                    kind: OP_REMOVE,
                    key: b"k2",
                    value: b""
                },
                Op {
                    table: 3,
                    kind: OP_INSERT,
                    key: b"",
                    value: b""
                },
            ]
        );
        assert!(ops(&log.payload()[..log.payload().len() - 1]).is_none());
    }

    #[test]
    fn records_after_a_checkpoint_are_replayed_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path(), 42).unwrap();
        for seq in 1..=3u64 {
            wal.append(seq, &mut buffer(&[(1, &seq.to_be_bytes(), Some(b"v"))]))
                .unwrap();
        }
        let reopened = Wal::open(dir.path(), 42).unwrap();
        let seqs: Vec<u64> = reopened
            .records_after(1)
            .unwrap()
            .iter()
            .map(|r| r.0)
            .collect();
        assert_eq!(seqs, vec![2, 3]);
        assert!(reopened.records_after(3).unwrap().is_empty());
    }

    #[test]
    fn older_records_after_a_restart_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path(), 42).unwrap();
        let big = vec![7u8; 100];
        for seq in 1..=4u64 {
            wal.append(seq, &mut buffer(&[(1, b"k", Some(&big))]))
                .unwrap();
        }
        // Checkpoint at 4: the next generation starts at the beginning with record 5.
        wal.restart();
        wal.append(5, &mut buffer(&[(1, b"k", Some(b"new"))]))
            .unwrap();
        let records = wal.records_after(4).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].0, 5);
        // Crash right after the checkpoint, before anything new was logged: nothing to replay.
        let dir2 = tempfile::tempdir().unwrap();
        let mut wal2 = Wal::open(dir2.path(), 42).unwrap();
        for seq in 1..=4u64 {
            wal2.append(seq, &mut buffer(&[(1, b"k", Some(&big))]))
                .unwrap();
        }
        assert!(wal2.records_after(5).unwrap().is_empty());
    }

    /// Writes records 1 to 3 and flips one payload byte of record `damaged`; returns the
    /// log's directory.
    fn log_with_damaged_record(damaged: u64) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path(), 42).unwrap();
        let mut offsets = Vec::new();
        for (seq, key) in [(1u64, b"a"), (2, b"b"), (3, b"c")] {
            offsets.push(wal.len());
            wal.append(seq, &mut buffer(&[(1, key, Some(b"1"))]))
                .unwrap();
        }
        let path = dir.path().join(WAL_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        let at = offsets[damaged as usize - 1] as usize + HEADER_LEN + 3;
        bytes[at] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        dir
    }

    #[test]
    fn a_torn_last_record_ends_the_log() {
        let dir = log_with_damaged_record(3);
        let seqs: Vec<u64> = Wal::open(dir.path(), 42)
            .unwrap()
            .records_after(0)
            .unwrap()
            .iter()
            .map(|r| r.0)
            .collect();
        assert_eq!(seqs, vec![1, 2]);
    }

    #[test]
    fn a_damaged_record_followed_by_intact_ones_is_refused_by_name() {
        let dir = log_with_damaged_record(2);
        let err = Wal::open(dir.path(), 42)
            .unwrap()
            .records_after(0)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let message = err.to_string();
        assert!(message.contains("hookd.wal"), "{message}");
        assert!(message.contains("damaged at record 2"), "{message}");
        assert!(message.contains("up to record 3"), "{message}");
        assert!(message.contains("move the log aside"), "{message}");
        // Past the checkpoint the damage is no longer in the part that counts.
        assert!(
            Wal::open(dir.path(), 42)
                .unwrap()
                .records_after(3)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn the_log_holds_its_whole_size_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path(), 42).unwrap();
        let path = dir.path().join(WAL_FILE);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), RESERVED_BYTES);
        // Blocks allocated, not a sparse hole: writes inside can never need new space.
        use std::os::unix::fs::MetadataExt;
        assert!(std::fs::metadata(&path).unwrap().blocks() * 512 >= RESERVED_BYTES);
        // A record that would reach past the reservation is refused, never written.
        wal.position = RESERVED_BYTES - 10;
        let err = wal
            .append(1, &mut buffer(&[(1, b"k", Some(b"v"))]))
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), RESERVED_BYTES);
    }

    #[test]
    fn another_stores_records_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path(), 42).unwrap();
        wal.append(1, &mut buffer(&[(1, b"a", Some(b"1"))]))
            .unwrap();
        let restored = Wal::open(dir.path(), 43).unwrap();
        assert!(restored.records_after(0).unwrap().is_empty());
    }

    #[test]
    fn a_gap_after_the_checkpoint_is_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path(), 42).unwrap();
        wal.append(7, &mut buffer(&[(1, b"a", Some(b"1"))]))
            .unwrap();
        let err = wal.records_after(5).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(wal.records_after(6).unwrap().len(), 1);
    }
}
