//! A request body made lazily, frame by frame, that counts how much of it was read.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Frame;

/// `left` bytes of spaces in `chunk`-sized frames, each allocated when it is read.
pub struct Stream {
    pub left: usize,
    pub chunk: usize,
    /// How many bytes were read so far.
    pub pulled: Arc<AtomicUsize>,
    /// After the last byte, never end (a client that stops sending).
    pub stalls: bool,
}

impl Stream {
    /// `total` bytes in `chunk`-sized frames.
    pub fn new(total: usize, chunk: usize) -> Self {
        Stream {
            left: total,
            chunk,
            pulled: Arc::default(),
            stalls: false,
        }
    }

    /// As [`Stream::new`], but it never ends after its `total` bytes.
    pub fn stalling(total: usize, chunk: usize) -> Self {
        Stream {
            stalls: true,
            ..Stream::new(total, chunk)
        }
    }
}

impl http_body::Body for Stream {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return if self.stalls {
                Poll::Pending
            } else {
                Poll::Ready(None)
            };
        }
        let n = self.chunk.min(self.left);
        self.left -= n;
        self.pulled.fetch_add(n, SeqCst);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b' '; n])))))
    }
}
