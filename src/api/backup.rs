//! `GET /v1/backup` (admin): a consistent snapshot of the store, streamed.

use hyper::StatusCode;
use hyper::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, HeaderValue};
use tokio::io::AsyncReadExt;

use super::respond::{self, Response};
use super::{App, Call};
use crate::error::Error;

const CHUNK: usize = 64 * 1024;

/// Takes the snapshot in one read transaction, then streams the file; restore by putting it
/// in place of `<data_dir>/hookd.redb` while hookd is stopped.
pub async fn backup(app: &App, call: &Call) -> Result<Response, Error> {
    call.principal.require_admin()?;
    let path = app.store.write_snapshot().await?;
    let opened = tokio::fs::File::open(&path).await;
    // The open handle keeps the content readable; the name is not needed any more.
    let _ = tokio::fs::remove_file(&path).await;
    let mut file = opened.map_err(|e| Error::Internal(format!("cannot open the snapshot: {e}")))?;
    let len = file
        .metadata()
        .await
        .map_err(|e| Error::Internal(format!("cannot read the snapshot: {e}")))?
        .len();
    let (mut response, chunks) = respond::streamed(StatusCode::OK, "application/octet-stream");
    let headers = response.headers_mut();
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    headers.insert(
        CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"hookd-backup.redb\""),
    );
    tokio::spawn(async move {
        let mut buf = vec![0u8; CHUNK];
        loop {
            match file.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => {
                    if chunks
                        .send(Ok(bytes::Bytes::copy_from_slice(&buf[..n])))
                        .await
                        .is_err()
                    {
                        break; // the client went away
                    }
                }
                Err(e) => {
                    let _ = chunks.send(Err(e)).await;
                    break;
                }
            }
        }
    });
    Ok(response)
}
