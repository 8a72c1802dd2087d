//! Worker threads: the API listener is served by `server.workers` threads, each running its own
//! single-threaded tokio runtime (thread per core, as nginx runs a worker process per core).
//!
//! Why: with one work-stealing runtime, a request's client read, upstream write, upstream read and
//! client write are often woken on different threads, and each hand-off costs a futex wake and a
//! context switch. Measured on 2 CPUs (`bench/gateway.sh`), that was about a quarter of the
//! gateway's CPU per request. Here a connection, the request it carries and the upstream
//! connection that request uses all live on one thread: every worker accepts from the same
//! listening socket (a busy worker simply accepts less) and has its own upstream connection pools
//! ([`crate::upstream::Endpoint::client`] picks the pool by [`index`]).
//!
//! What stays on the caller's runtime: the admin listener, the failover followers and signal
//! handling. Workers share only thread-safe state: the route table, the upstream pointers the
//! followers swap, the connection limit and the metrics recorder.

use std::cell::Cell;
use std::future::Future;
use std::sync::Arc;

thread_local! {
    static INDEX: Cell<usize> = const { Cell::new(0) };
}

/// This thread's worker number (0 on any thread that is not a worker).
pub fn index() -> usize {
    INDEX.with(Cell::get)
}

/// A running worker; resolves when its thread has finished (after its drain).
pub type Done = tokio::sync::oneshot::Receiver<()>;

/// Starts `count` worker threads, each serving `listener` (the same socket) with what `serve`
/// returns for it. A worker that cannot start its runtime logs why and ends; the others serve on.
pub fn start<F, Fut>(
    count: usize,
    listener: std::net::TcpListener,
    serve: F,
) -> std::io::Result<Vec<Done>>
where
    F: Fn(tokio::net::TcpListener) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()>,
{
    listener.set_nonblocking(true)?;
    let serve = Arc::new(serve);
    let mut done = Vec::with_capacity(count);
    for i in 0..count {
        let listener = listener.try_clone()?;
        let serve = serve.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name(format!("gateway-worker-{i}"))
            .spawn(move || {
                INDEX.with(|c| c.set(i));
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                match rt {
                    Ok(rt) => rt.block_on(async {
                        match tokio::net::TcpListener::from_std(listener) {
                            Ok(l) => serve(l).await,
                            Err(e) => tracing::error!(worker = i, error = %e, "worker cannot use the listener"),
                        }
                    }),
                    Err(e) => tracing::error!(worker = i, error = %e, "worker cannot start its runtime"),
                }
                let _ = tx.send(());
            })?;
        done.push(rx);
    }
    Ok(done)
}
