//! Lambda: the table's DynamoDB stream, second consumer: uploads waiting to be read go to the
//! capture service; reports partial batch failures.

use aws_lambda_events::event::dynamodb::Event as DynamoDbEvent;
use aws_lambda_events::streams::DynamoDbEventResponse;
use fieldline_lambda::Functions;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let functions = Functions::from_env().await?;
    let functions = &functions;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<DynamoDbEvent>| async move {
            Ok::<DynamoDbEventResponse, Error>(functions.on_capture_stream(event.payload).await)
        },
    ))
    .await
}
