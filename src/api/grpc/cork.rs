//! A client connection whose writes are gathered for one scheduling round before they go out.
//!
//! When a Raft batch commits, its replies wake one gRPC handler after another, and each hands
//! its response to the connection's HTTP/2 task, which writes and flushes it at once: one
//! `writev` (and, on the client's side, one read) per response. Here the first flush after new
//! bytes is put off once: the connection task yields to the back of its worker's queue, the
//! handlers woken before it add their responses, and the next flush writes them all in one
//! call. A lone response waits for one round of the scheduler, not for a timer.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// Bytes gathered before they are written without waiting for a flush.
const GATHER_LIMIT: usize = 256 * 1024;

pub struct Corked {
    io: TcpStream,
    /// Bytes accepted and not yet written; `written` of them have gone out.
    pending: Vec<u8>,
    written: usize,
    /// Whether this flush has already been put off once.
    deferred: bool,
}

impl Corked {
    pub fn new(io: TcpStream) -> Corked {
        Corked {
            io,
            pending: Vec::new(),
            written: 0,
            deferred: false,
        }
    }

    /// Writes out everything gathered.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }

    fn gather(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.pending.len() >= GATHER_LIMIT {
            ready!(self.poll_drain(cx))?;
        }
        let mut n = 0;
        for buf in bufs {
            self.pending.extend_from_slice(buf);
            n += buf.len();
        }
        Poll::Ready(Ok(n))
    }
}

impl AsyncRead for Corked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Corked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.gather(cx, &[io::IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.gather(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.written < self.pending.len() && !self.deferred {
            self.deferred = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        ready!(self.poll_drain(cx))?;
        self.deferred = false;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl Connected for Corked {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.io.connect_info()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn pair() -> (Corked, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
        (
            Corked::new(accepted.expect("accept").0),
            client.expect("connect"),
        )
    }

    #[tokio::test]
    async fn writes_go_out_at_the_flush_and_not_before() {
        let (mut corked, mut peer) = pair().await;
        corked.write_all(b"first ").await.expect("write");
        corked.write_all(b"second").await.expect("write");
        let mut byte = [0u8; 1];
        let early =
            tokio::time::timeout(std::time::Duration::from_millis(50), peer.read(&mut byte)).await;
        assert!(early.is_err(), "nothing is sent before a flush");
        corked.flush().await.expect("flush");
        let mut got = vec![0u8; 12];
        peer.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"first second");
    }

    #[tokio::test]
    async fn a_shutdown_sends_what_was_gathered() {
        let (mut corked, mut peer) = pair().await;
        corked.write_all(b"last words").await.expect("write");
        corked.shutdown().await.expect("shutdown");
        let mut got = Vec::new();
        peer.read_to_end(&mut got).await.expect("read");
        assert_eq!(got, b"last words");
    }

    #[tokio::test]
    async fn reads_pass_through() {
        let (mut corked, mut peer) = pair().await;
        peer.write_all(b"ping").await.expect("write");
        let mut got = [0u8; 4];
        corked.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"ping");
    }
}
