//! A small fixed-layout binary encoding for the records the hot path reads and rewrites on
//! every attempt (see [`crate::records::DeliveryRecord`]).
//!
//! JSON cost a decode and an encode of every delivery record per attempt, which profiles
//! showed as a tenth of a drain's CPU; these records are never read by anything but hookd, so
//! they are stored as big-endian fields in a fixed order instead. Reading is bounds-checked
//! throughout: a short or malformed value is an error, never a panic.

/// Appends fields to a value being encoded.
pub struct Encoder {
    out: Vec<u8>,
}

impl Encoder {
    /// An encoder whose value starts with the format `tag` byte.
    pub fn new(tag: u8, capacity: usize) -> Self {
        let mut out = Vec::with_capacity(capacity);
        out.push(tag);
        Encoder { out }
    }

    pub fn u8(&mut self, v: u8) {
        self.out.push(v);
    }

    pub fn u16(&mut self, v: u16) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    pub fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    pub fn u64(&mut self, v: u64) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    pub fn i64(&mut self, v: i64) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    pub fn u128(&mut self, v: u128) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    /// A string of up to 4 GiB: its length, then its bytes.
    pub fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.out.extend_from_slice(s.as_bytes());
    }

    /// An optional string: a presence byte, then the string if present.
    pub fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
        }
    }

    /// An optional number: a presence byte, then the number if present.
    pub fn opt_i64(&mut self, v: Option<i64>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.i64(v);
            }
        }
    }

    pub fn finish(self) -> Vec<u8> {
        self.out
    }
}

/// The value ended early or held an impossible field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// Reads fields back in the order they were written.
pub struct Decoder<'a> {
    rest: &'a [u8],
}

impl<'a> Decoder<'a> {
    /// A decoder over `value`, which must start with the format `tag` byte.
    pub fn new(value: &'a [u8], tag: u8) -> Result<Self, Malformed> {
        match value.split_first() {
            Some((&first, rest)) if first == tag => Ok(Decoder { rest }),
            _ => Err(Malformed),
        }
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        let (head, rest) = self.rest.split_first_chunk::<N>().ok_or(Malformed)?;
        self.rest = rest;
        Ok(*head)
    }

    fn bytes(&mut self, len: usize) -> Result<&'a [u8], Malformed> {
        if self.rest.len() < len {
            return Err(Malformed);
        }
        let (head, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(head)
    }

    pub fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.take::<1>()?[0])
    }

    pub fn u16(&mut self) -> Result<u16, Malformed> {
        self.take().map(u16::from_be_bytes)
    }

    pub fn u32(&mut self) -> Result<u32, Malformed> {
        self.take().map(u32::from_be_bytes)
    }

    pub fn u64(&mut self) -> Result<u64, Malformed> {
        self.take().map(u64::from_be_bytes)
    }

    pub fn i64(&mut self) -> Result<i64, Malformed> {
        self.take().map(i64::from_be_bytes)
    }

    pub fn u128(&mut self) -> Result<u128, Malformed> {
        self.take().map(u128::from_be_bytes)
    }

    pub fn str(&mut self) -> Result<&'a str, Malformed> {
        let len = self.u32()? as usize;
        std::str::from_utf8(self.bytes(len)?).map_err(|_| Malformed)
    }

    pub fn opt_str(&mut self) -> Result<Option<&'a str>, Malformed> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.str().map(Some),
            _ => Err(Malformed),
        }
    }

    pub fn opt_i64(&mut self) -> Result<Option<i64>, Malformed> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.i64().map(Some),
            _ => Err(Malformed),
        }
    }

    /// Whether every byte was read (a longer value than its fields is malformed too).
    pub fn end(&self) -> Result<(), Malformed> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Malformed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_and_short_values_are_refused() {
        let mut e = Encoder::new(7, 64);
        e.u8(1);
        e.u16(2);
        e.u32(3);
        e.u64(4);
        e.i64(-5);
        e.u128(u128::MAX);
        e.str("é");
        e.opt_str(None);
        e.opt_str(Some("x"));
        e.opt_i64(Some(-1));
        e.opt_i64(None);
        let value = e.finish();
        let mut d = Decoder::new(&value, 7).unwrap();
        assert_eq!(d.u8(), Ok(1));
        assert_eq!(d.u16(), Ok(2));
        assert_eq!(d.u32(), Ok(3));
        assert_eq!(d.u64(), Ok(4));
        assert_eq!(d.i64(), Ok(-5));
        assert_eq!(d.u128(), Ok(u128::MAX));
        assert_eq!(d.str(), Ok("é"));
        assert_eq!(d.opt_str(), Ok(None));
        assert_eq!(d.opt_str(), Ok(Some("x")));
        assert_eq!(d.opt_i64(), Ok(Some(-1)));
        assert_eq!(d.opt_i64(), Ok(None));
        assert_eq!(d.end(), Ok(()));
        assert!(Decoder::new(&value, 8).is_err());
        for cut in 1..value.len() {
            let mut d = Decoder::new(&value[..cut], 7).unwrap();
            let all = (|| {
                d.u8()?;
                d.u16()?;
                d.u32()?;
                d.u64()?;
                d.i64()?;
                d.u128()?;
                d.str()?;
                d.opt_str()?;
                d.opt_str()?;
                d.opt_i64()?;
                d.opt_i64()?;
                d.end()
            })();
            assert_eq!(all, Err(Malformed), "cut at {cut}");
        }
    }
}
