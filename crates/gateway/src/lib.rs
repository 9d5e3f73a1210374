//! API Gateway HTTP API behaviour. INTERFACE STUB: signatures are the contract, bodies are being
//! written.
#![allow(clippy::todo, unused_variables)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use stackgate_template::{FunctionTarget, Model};

/// What the gateway asks of whoever runs the functions (implemented by the cli over
/// `stackgate-runtime`; the gateway never spawns a process).
pub trait Invoker: Send + Sync + 'static {
    /// Invokes `function` synchronously with `payload` (the proxy event JSON). `request_id` is the
    /// gateway's request id, for log correlation.
    fn invoke<'a>(
        &'a self,
        function: &'a FunctionTarget,
        payload: Bytes,
        request_id: &'a str,
    ) -> Pin<Box<dyn Future<Output = InvokeOutcome> + Send + 'a>>;
}

/// Result of one Lambda invocation as the gateway sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeOutcome {
    /// The function's result payload.
    Response(Bytes),
    /// Function error (thrown, timed out, crashed, init failure...): Lambda's error type and JSON.
    FunctionError { error_type: String, payload: Bytes },
    /// Lambda refused the invoke (unknown function, throttled, could not start): the reason.
    Rejected(String),
}

#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// Issuer URL used by JWT authorizers whose issuer resolved to no value (the dev issuer).
    pub dev_issuer: Option<String>,
    /// Key cache shared by every JWT authorizer.
    pub keys: stackgate_jwt::KeyCache,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Invalid(String),
}

/// The compiled gateway: stages, route tables, authorizers, integrations.
pub struct Gateway {}

impl Gateway {
    pub fn new(
        model: &Model,
        invoker: Arc<dyn Invoker>,
        options: GatewayOptions,
    ) -> Result<Self, ConfigError> {
        todo!()
    }

    /// Accepts connections on `listener` and answers them until the process ends.
    pub async fn serve(self: Arc<Self>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        todo!()
    }
}
