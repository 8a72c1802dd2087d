//! Wakes a connection's reader when a response ends, so that [`bootstrap::conn`] arms the idle
//! keep-alive deadline.
//!
//! hyper polls the socket for the next request while it is still writing a response. At that moment
//! an exchange is in progress, so `Watched` arms no deadline and returns `Pending`, leaving only
//! the socket to wake the reader. When the response then ends, nothing polls the read side again
//! until the client sends a byte: a client that just goes quiet would keep the connection forever.
//! [`Rearm`] remembers the reader's waker and [`RearmBody`] wakes it once its response body has
//! ended and released the exchange, so the next poll sees an idle connection and starts its clock.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The reader's waker, shared by a connection and its responses.
#[derive(Clone, Default)]
pub struct Reader(Arc<AtomicWaker>);

impl Reader {
    fn wake(&self) {
        self.0.wake();
    }
}

pin_project_lite::pin_project! {
    /// A connection whose pending reads can be woken by [`RearmBody`].
    pub struct Rearm<IO> {
        #[pin]
        io: IO,
        reader: Reader,
    }
}

impl<IO> Rearm<IO> {
    pub fn new(io: IO, reader: Reader) -> Self {
        Self { io, reader }
    }
}

impl<IO: AsyncRead> AsyncRead for Rearm<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        this.reader.0.register(cx.waker());
        this.io.poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite> AsyncWrite for Rearm<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().io.poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_shutdown(cx)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().io.poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// A response body that wakes its connection's reader after the inner body (which releases the
/// exchange) has ended or been dropped.
pub struct RearmBody<B> {
    inner: Option<B>,
    reader: Reader,
}

impl<B> RearmBody<B> {
    pub fn new(inner: B, reader: Reader) -> Self {
        Self {
            inner: Some(inner),
            reader,
        }
    }
}

impl<B> Drop for RearmBody<B> {
    fn drop(&mut self) {
        if self.inner.take().is_some() {
            self.reader.wake();
        }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for RearmBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let frame = Pin::new(inner).poll_frame(cx);
        if matches!(frame, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            // Dropping the inner body ends the exchange; then the reader may arm its deadline.
            self.inner = None;
            self.reader.wake();
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(|b| b.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), |b| b.size_hint())
    }
}
