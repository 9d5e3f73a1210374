//! A swappable gateway for hot reload: the listener loads the current [`Gateway`] for each
//! request, so a replacement takes effect at the next request while requests in flight finish on
//! the gateway they started on.

use std::sync::{Arc, PoisonError, RwLock};

use crate::Gateway;

/// The gateway one listener serves, replaceable while it serves.
pub struct GatewayHandle {
    current: RwLock<Arc<Gateway>>,
}

impl GatewayHandle {
    pub fn new(gateway: Gateway) -> Arc<Self> {
        Arc::new(GatewayHandle {
            current: RwLock::new(Arc::new(gateway)),
        })
    }

    /// The gateway new requests go to (a read lock and an `Arc` clone).
    pub fn current(&self) -> Arc<Gateway> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Sends the next requests to `gateway`; the previous one is dropped once its in-flight
    /// requests end.
    pub fn replace(&self, gateway: Gateway) {
        let gateway = Arc::new(gateway);
        let previous = std::mem::replace(
            &mut *self.current.write().unwrap_or_else(PoisonError::into_inner),
            gateway,
        );
        drop(previous);
    }

    /// Accepts connections on `listener` and answers each request with the then-current gateway,
    /// until the process ends (or the task is aborted).
    pub async fn serve(self: Arc<Self>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        crate::server::serve_with(move || self.current(), listener).await
    }
}
