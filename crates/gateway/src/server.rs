//! The listener: HTTP/1.1 with keep-alive on hyper, one task per connection.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::Gateway;
use crate::pipeline::{self, ConnInfo};

/// Accepts connections until the process ends. Accept errors (e.g. too many open files) are
/// logged and retried, not fatal.
pub async fn serve(gw: Arc<Gateway>, listener: TcpListener) -> std::io::Result<()> {
    serve_with(move || Arc::clone(&gw), listener).await
}

/// [`serve`] with the gateway chosen per request by `current` (hot reload: see
/// [`crate::GatewayHandle`]); a request keeps the gateway it started with to its end.
pub async fn serve_with<F>(current: F, listener: TcpListener) -> std::io::Result<()>
where
    F: Fn() -> Arc<Gateway> + Send + Sync + 'static,
{
    let current = Arc::new(current);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(target: "stackgate::gateway", "accept failed: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let local = match stream.local_addr() {
            Ok(local) => local,
            Err(e) => {
                tracing::debug!(target: "stackgate::gateway", "connection from {peer} lost: {e}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let conn = ConnInfo { peer, local };
        let current = Arc::clone(&current);
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let gw = current();
                async move { Ok::<_, Infallible>(pipeline::handle(&gw, conn, req).await) }
            });
            if let Err(e) = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(target: "stackgate::gateway", "connection from {peer}: {e}");
            }
        });
    }
}
