//! Lambda: on an EventBridge schedule, fires due timers and sends due notifications.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use fieldline_lambda::{Functions, SweepReport};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let functions = Functions::from_env().await?;
    let functions = &functions;
    lambda_runtime::run(service_fn(
        move |_: LambdaEvent<EventBridgeEvent<serde_json::Value>>| async move {
            Ok::<SweepReport, Error>(functions.on_schedule().await?)
        },
    ))
    .await
}
