//! The seam between the gateway and the functions: the gateway asks for an invocation by function
//! target; the runtime runs it. Lambda's own refusals (unknown function, throttling, a runtime that
//! cannot start) come back as `Rejected` with the reason, which the gateway answers with a 500.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use stackgate_gateway::{InvokeOutcome, Invoker};
use stackgate_runtime::{Invocation, Outcome, Runtime};
use stackgate_template::FunctionTarget;

pub struct RuntimeInvoker {
    pub runtime: Arc<Runtime>,
}

impl Invoker for RuntimeInvoker {
    fn invoke<'a>(
        &'a self,
        function: &'a FunctionTarget,
        payload: Bytes,
        request_id: &'a str,
    ) -> Pin<Box<dyn Future<Output = InvokeOutcome> + Send + 'a>> {
        Box::pin(async move {
            let invocation = Invocation {
                payload,
                qualifier: function.qualifier.clone(),
                caller_request_id: Some(request_id.to_string()),
                ..Invocation::default()
            };
            match self
                .runtime
                .invoke(&function.function_name, invocation)
                .await
            {
                Ok(result) => match result.outcome {
                    Outcome::Response { payload, .. } => InvokeOutcome::Response(payload),
                    Outcome::FunctionError {
                        error_type,
                        payload,
                    } => InvokeOutcome::FunctionError {
                        error_type,
                        payload,
                    },
                },
                Err(error) => InvokeOutcome::Rejected(error.to_string()),
            }
        })
    }
}
