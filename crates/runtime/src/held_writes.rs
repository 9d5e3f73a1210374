//! A Runtime API connection that can hold its written bytes back.
//!
//! stackgate's own runtime shims send an invocation's answer (`POST .../response` or `/error`)
//! and the next `GET /next` in one write, and mark the answer with [`NEXT_FOLLOWS`]. The `202`
//! for such an answer is then held and goes out in one write with the next event, instead of
//! waking the function's process once for the `202` and again for the event. Every other client
//! (the Rust `lambda_runtime`, `curl` in a `bootstrap`, …) gets each answer at once, as from AWS.
//!
//! A hold is only ever set for a connection whose client has already sent its `GET /next`, and
//! it ends when that `/next` is answered (with an event, or with an error when the environment
//! shuts down), so no client waits on a held byte.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Request header a shim sets on an answer that its `GET /next` follows in the same write.
pub const NEXT_FOLLOWS: &str = "stackgate-next-follows";

/// Held bytes beyond this are written anyway (a hold is for one small `202`).
const MAX_HELD: usize = 64 * 1024;

/// Shared between a connection and the requests served on it.
#[derive(Clone, Debug, Default)]
pub struct Hold(Arc<AtomicBool>);

impl Hold {
    /// Holds what is written from now on, until [`Hold::release`].
    pub fn set(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Lets held bytes go out with the next flush.
    pub fn release(&self) {
        self.0.store(false, Ordering::Release);
    }

    fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// A TCP stream whose writes can be held (see the module docs).
pub struct HeldWrites {
    io: TcpStream,
    held: Vec<u8>,
    hold: Hold,
}

impl HeldWrites {
    pub fn hold(&self) -> &Hold {
        &self.hold
    }

    /// Writes out what is held; `Pending` until all of it is written.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.held.is_empty() {
            let n = std::task::ready!(Pin::new(&mut self.io).poll_write(cx, &self.held))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.held.drain(..n);
        }
        Poll::Ready(Ok(()))
    }

    fn holding(&self) -> bool {
        self.hold.is_set() && self.held.len() < MAX_HELD
    }

    /// Whether writes must queue: while holding, or behind bytes already held (order).
    fn queues(&self) -> bool {
        self.holding() || !self.held.is_empty()
    }

    /// Queues `bufs` behind what is held and, unless holding, sends what can go now (the rest
    /// goes with the next flush).
    fn queue(&mut self, cx: &mut Context<'_>, bufs: &[&[u8]]) -> Poll<io::Result<usize>> {
        let mut n = 0;
        for b in bufs {
            self.held.extend_from_slice(b);
            n += b.len();
        }
        if !self.holding() {
            let _ = self.poll_drain(cx)?;
        }
        Poll::Ready(Ok(n))
    }
}

impl AsyncRead for HeldWrites {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for HeldWrites {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.queues() {
            return this.queue(cx, &[buf]);
        }
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.queues() {
            let slices: Vec<&[u8]> = bufs.iter().map(|b| &**b).collect();
            return this.queue(cx, &slices);
        }
        Pin::new(&mut this.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.holding() {
            return Poll::Ready(Ok(()));
        }
        std::task::ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        std::task::ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// Accepts connections as [`HeldWrites`], with no Nagle delays (small request/response pairs on
/// a keep-alive connection).
pub struct HeldListener(pub TcpListener);

impl axum::serve::Listener for HeldListener {
    type Io = HeldWrites;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((io, addr)) => {
                    let _ = io.set_nodelay(true);
                    let io = HeldWrites {
                        io,
                        held: Vec::new(),
                        hold: Hold::default(),
                    };
                    return (io, addr);
                }
                // EMFILE and friends: wait instead of spinning.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// The connection's [`Hold`], for handlers (`ConnectInfo<Hold>`).
impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, HeldListener>>
    for Hold
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, HeldListener>) -> Self {
        stream.io().hold().clone()
    }
}
