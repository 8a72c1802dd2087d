//! Body wrappers on the proxy path. Bodies stream: nothing here buffers a body whole.
//!
//! - [`RequestBody`]: the client's body on its way upstream. It sits in a shared slot until the
//!   upstream connection first polls it, so a request whose connect failed can be retried with
//!   the body untouched. The route's size limit is enforced by [`http_body_util::Limited`].
//! - [`DeadlineBody`]: the upstream's response body on its way back, cut off at the route's total
//!   timeout, and turned into an error if the request body went over its limit after the response
//!   head was sent ([`LimitHit`]): the client must see a broken response, not a short success.

use std::future::Future as _;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::{BodyExt as _, Limited};
use tokio::time::{Instant, Sleep};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

type Inner = Limited<Body>;

/// The shared place a request body waits in until an attempt takes it.
struct Slot(Mutex<Option<Inner>>);

impl Drop for Slot {
    fn drop(&mut self) {
        // No attempt took the body (the upstream answered first, or none was made).
        if let Some(body) = self.0.get_mut().ok().and_then(Option::take) {
            linger(body);
        }
    }
}

/// How long a request body that nobody will read is still read and discarded once the exchange
/// is over. Closing a socket with unread input makes the kernel send a reset, which can destroy
/// the answer before the client reads it (a 413 for an upload, an upstream's early answer);
/// nginx reads on for the same reason (`lingering_close`, `lingering_timeout 5s`).
pub const LINGER: Duration = Duration::from_secs(5);

/// Reads `body` to its end (or for at most [`LINGER`]) in the background and discards it, so the
/// client's connection closes cleanly after the answer, or stays usable.
pub fn linger<B>(body: B)
where
    B: HttpBody + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    if body.is_end_stream() {
        return;
    }
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    rt.spawn(async move {
        let mut body = body;
        let read = async {
            loop {
                match body.frame().await {
                    None => break,
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        // Past the size limit: keep discarding (the limit is about what is
                        // forwarded); any other error means the client has gone.
                        if !is_length_limit(e.into().as_ref()) {
                            break;
                        }
                    }
                }
            }
        };
        let _ = tokio::time::timeout(LINGER, read).await;
    });
}

/// The body of a request, held so that it can be handed to more than one attempt as long as none
/// of them has started reading it.
pub struct BodySlot {
    slot: Option<Arc<Slot>>,
    hint: SizeHint,
    limit_hit: LimitHit,
}

/// Set once the request body went over the route's size limit.
#[derive(Clone, Default, Debug)]
pub struct LimitHit(Arc<AtomicBool>);

impl LimitHit {
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl BodySlot {
    /// Wraps a client body with a size limit. An empty body costs nothing.
    pub fn new(body: Body, limit: u64) -> Self {
        if body.is_end_stream() {
            return Self {
                slot: None,
                hint: SizeHint::with_exact(0),
                limit_hit: LimitHit::default(),
            };
        }
        let hint = body.size_hint();
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Self {
            slot: Some(Arc::new(Slot(Mutex::new(Some(Limited::new(body, limit)))))),
            hint,
            limit_hit: LimitHit::default(),
        }
    }

    /// Whether there is a body at all (an empty one cannot go over the limit).
    pub fn has_body(&self) -> bool {
        self.slot.is_some()
    }

    /// Tells whether the body went over its limit (for [`DeadlineBody`]).
    pub fn limit_hit(&self) -> LimitHit {
        self.limit_hit.clone()
    }

    /// A body for one attempt. It takes the real body out of the slot on its first poll.
    pub fn attempt(&self) -> RequestBody {
        RequestBody {
            slot: self.slot.clone(),
            body: None,
            hint: self.hint,
            limit_hit: self.limit_hit.clone(),
        }
    }

    /// Whether no attempt has started reading the body, so another attempt may still send it.
    pub fn untouched(&self) -> bool {
        self.slot
            .as_ref()
            .is_none_or(|s| s.0.lock().map(|g| g.is_some()).unwrap_or(false))
    }
}

/// One attempt's view of the request body.
pub struct RequestBody {
    slot: Option<Arc<Slot>>,
    body: Option<Inner>,
    hint: SizeHint,
    limit_hit: LimitHit,
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        // Taken by this attempt but not read to the end: the upstream stopped reading.
        if let Some(body) = self.body.take() {
            linger(body);
        }
    }
}

impl HttpBody for RequestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.body.is_none() {
            let Some(slot) = this.slot.take() else {
                return Poll::Ready(None);
            };
            this.body = slot.0.lock().ok().and_then(|mut g| g.take());
            if this.body.is_none() {
                return Poll::Ready(Some(Err("request body already consumed".into())));
            }
        }
        match this.body.as_mut() {
            Some(b) => {
                let frame = Pin::new(b).poll_frame(cx);
                if let Poll::Ready(Some(Err(e))) = &frame {
                    if is_length_limit(e.as_ref()) {
                        this.limit_hit.0.store(true, Ordering::Relaxed);
                    }
                }
                frame
            }
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.slot.is_none() && self.body.as_ref().is_none_or(|b| b.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.hint
    }
}

/// Whether an error (or anything in its source chain) is the request body exceeding its limit.
pub fn is_length_limit(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cur = e.source();
    }
    false
}

/// The upstream's response body did not finish before the route's total timeout.
#[derive(Debug, thiserror::Error)]
#[error("upstream response exceeded the total timeout")]
pub struct TotalTimeout;

/// The request body went over the route's limit after the response head had been sent.
#[derive(Debug, thiserror::Error)]
#[error("request body exceeded the size limit after the response began")]
pub struct LimitAfterHead;

/// What a response body does when the request body went over its limit mid-response: fail, and
/// log and count it as a body-limit refusal.
pub struct LimitWatch {
    pub hit: LimitHit,
    pub route: Arc<str>,
    pub request_id: Option<http::HeaderValue>,
}

pin_project_lite::pin_project! {
    /// A response body that fails with [`TotalTimeout`] once `deadline` passes, and with
    /// [`LimitAfterHead`] instead of ending when the request body went over its limit.
    pub struct DeadlineBody<B> {
        #[pin]
        inner: B,
        #[pin]
        sleep: Sleep,
        limit: Option<LimitWatch>,
    }
}

impl<B> DeadlineBody<B> {
    pub fn new(inner: B, deadline: Instant, limit: Option<LimitWatch>) -> Self {
        Self {
            inner,
            sleep: tokio::time::sleep_until(deadline),
            limit,
        }
    }
}

/// Turns the end of a response whose request went over its limit into an error (once).
fn limit_check(
    limit: &mut Option<LimitWatch>,
    frame: Option<Result<Frame<Bytes>, BoxError>>,
) -> Option<Result<Frame<Bytes>, BoxError>> {
    let ends = !matches!(frame, Some(Ok(_)));
    if !ends || !limit.as_ref().is_some_and(|l| l.hit.get()) {
        return frame;
    }
    let l = limit.take().expect("checked above");
    tracing::warn!(
        request_id = l.request_id.as_ref().and_then(|v| v.to_str().ok()).unwrap_or(""),
        route = %l.route,
        "request body went over max_body_bytes after the response began; aborting the response"
    );
    crate::metrics::body_limit(&l.route, crate::metrics::BodyLimitStage::AfterHead);
    Some(Err(LimitAfterHead.into()))
}

impl<B> HttpBody for DeadlineBody<B>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        match this.inner.poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(limit_check(
                this.limit,
                frame.map(|r| r.map_err(Into::into)),
            )),
            Poll::Pending => match this.sleep.poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(TotalTimeout.into()))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream() && !self.limit.as_ref().is_some_and(|l| l.hit.get())
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
