//! The listening side of every HTTP port (the five data-plane endpoints and the config API):
//! plain TCP or TLS, connections that the fault hook can cut ([`ConnHandle::kill`]), and a port
//! that can be made unreachable — its socket closed, so connections are refused, and its open
//! connections cut — then reopened on the same address ([`Reachability`]).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::tls::TlsListener;

/// What a connection shares with the handlers that serve it.
#[derive(Debug, Default)]
struct ConnControl {
    killed: AtomicBool,
    reader: Mutex<Option<Waker>>,
}

/// A connection as the handlers see it (axum's `ConnectInfo`).
#[derive(Clone, Debug)]
pub struct ConnHandle(Arc<ConnControl>);

impl ConnHandle {
    /// Closes the connection at once: nothing more is read or written (an answer being prepared
    /// is never sent).
    pub fn kill(&self) {
        self.0.killed.store(true, Ordering::SeqCst);
        if let Some(w) = self
            .0
            .reader
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            w.wake();
        }
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// An accepted connection.
pub struct Conn {
    stream: Stream,
    control: Arc<ConnControl>,
}

fn killed() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "closed by arc-local")
}

macro_rules! delegate {
    ($self:ident, $s:ident => $e:expr) => {{
        if $self.control.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        match &mut $self.stream {
            Stream::Plain($s) => $e,
            Stream::Tls($s) => $e,
        }
    }};
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        *this
            .control
            .reader
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
        delegate!(this, s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        delegate!(this, s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        delegate!(this, s => Pin::new(s).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match &self.stream {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        delegate!(this, s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        delegate!(this, s => Pin::new(s).poll_shutdown(cx))
    }
}

/// Switches a port between reachable and unreachable from outside its runtime.
#[derive(Clone, Debug)]
pub struct Reachability {
    wanted: Arc<watch::Sender<bool>>,
    actual: watch::Receiver<bool>,
}

/// The port could not be switched.
#[derive(Debug, thiserror::Error)]
pub enum ReachError {
    #[error("the port did not switch within {0:?} (is the emulator still running?)")]
    Timeout(Duration),
    #[error("cannot listen on {addr} again: {source}")]
    Rebind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
}

impl Reachability {
    /// Closes (`false`) or reopens (`true`) the port, and waits until it is done. Blocking.
    pub fn set(&self, reachable: bool) -> Result<(), ReachError> {
        const LIMIT: Duration = Duration::from_secs(5);
        self.wanted.send_replace(reachable);
        let deadline = std::time::Instant::now() + LIMIT;
        while *self.actual.borrow() != reachable {
            if std::time::Instant::now() > deadline {
                return Err(ReachError::Timeout(LIMIT));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(())
    }
}

enum Inner {
    Plain(TcpListener),
    Tls(TlsListener),
}

/// One HTTP port's listener.
pub struct PortListener {
    addr: SocketAddr,
    tls: Option<TlsAcceptor>,
    inner: Option<Inner>,
    wanted: watch::Receiver<bool>,
    actual: watch::Sender<bool>,
    conns: Vec<Weak<ConnControl>>,
}

impl PortListener {
    /// Serves `tcp` (over TLS with `tls`); the port can be switched with the returned handle.
    pub fn new(
        tcp: TcpListener,
        tls: Option<TlsAcceptor>,
    ) -> io::Result<(PortListener, Reachability)> {
        let addr = tcp.local_addr()?;
        let inner = match &tls {
            Some(acceptor) => Inner::Tls(TlsListener::new(tcp, acceptor.clone())?),
            None => Inner::Plain(tcp),
        };
        let (wanted_tx, wanted) = watch::channel(true);
        let (actual, actual_rx) = watch::channel(true);
        let listener = PortListener {
            addr,
            tls,
            inner: Some(inner),
            wanted,
            actual,
            conns: Vec::new(),
        };
        let reach = Reachability {
            wanted: Arc::new(wanted_tx),
            actual: actual_rx,
        };
        Ok((listener, reach))
    }

    /// Brings the socket to the wanted state.
    async fn settle(&mut self) -> Result<(), ReachError> {
        let wanted = *self.wanted.borrow_and_update();
        if !wanted && self.inner.is_some() {
            self.inner = None;
            for c in self.conns.drain(..).filter_map(|w| w.upgrade()) {
                ConnHandle(c).kill();
            }
        }
        if wanted && self.inner.is_none() {
            let rebind = |source| ReachError::Rebind {
                addr: self.addr,
                source,
            };
            let tcp = TcpListener::bind(self.addr).await.map_err(rebind)?;
            self.inner = Some(match &self.tls {
                Some(acceptor) => {
                    Inner::Tls(TlsListener::new(tcp, acceptor.clone()).map_err(rebind)?)
                }
                None => Inner::Plain(tcp),
            });
        }
        self.actual.send_replace(wanted);
        Ok(())
    }

    async fn accept_open(inner: &mut Inner) -> (Stream, SocketAddr) {
        match inner {
            Inner::Plain(l) => {
                let (s, peer) = axum::serve::Listener::accept(l).await;
                (Stream::Plain(s), peer)
            }
            Inner::Tls(l) => {
                let (s, peer) = axum::serve::Listener::accept(l).await;
                (Stream::Tls(Box::new(s)), peer)
            }
        }
    }
}

/// Waits for the wanted state to change; forever once nobody can change it.
async fn changed(wanted: &mut watch::Receiver<bool>) {
    if wanted.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}

impl axum::serve::Listener for PortListener {
    type Io = Conn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Conn, SocketAddr) {
        loop {
            if let Err(e) = self.settle().await {
                tracing::warn!(error = %e, "cannot reopen the port; trying again");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            let PortListener { inner, wanted, .. } = self;
            let Some(inner) = inner.as_mut() else {
                changed(wanted).await;
                continue;
            };
            let accepted = tokio::select! {
                conn = Self::accept_open(inner) => conn,
                _ = changed(wanted) => continue,
            };
            let (stream, peer) = accepted;
            let control = Arc::new(ConnControl::default());
            self.conns.retain(|w| w.strong_count() > 0);
            self.conns.push(Arc::downgrade(&control));
            return (Conn { stream, control }, peer);
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.addr)
    }
}

impl Connected<IncomingStream<'_, PortListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, PortListener>) -> ConnHandle {
        ConnHandle(stream.io().control.clone())
    }
}
