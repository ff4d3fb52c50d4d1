//! Lambda: on S3 ObjectCreated, checks each upload and records it on its lead.

use aws_lambda_events::event::s3::S3Event;
use fieldline_lambda::{Functions, UploadReport};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let functions = Functions::from_env().await?;
    let functions = &functions;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<S3Event>| async move {
        Ok::<Vec<UploadReport>, Error>(functions.on_upload(event.payload).await?)
    }))
    .await
}
