//! The migrate Lambda's entry point: clients and the pool are set up once per container.

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use tracing::info;
use zipster_aws::s3::S3Storage;
use zipster_db::connect::{Limits, describe, lazy_pool};
use zipster_load::credentials;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let aws = zipster_aws::load_config().await;
    let options = credentials::database_options(&aws, |name| std::env::var(name).ok()).await?;
    info!(database = %describe(&options), "migrate function starting");
    let storage = S3Storage::new(&aws);
    // One connection: migrations take sqlx's lock and the seed runs after them.
    let pool = lazy_pool(options, Limits { max_connections: 1, ..Limits::default() });
    let (storage, pool) = (&storage, &pool);
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        zipster_migrate::handle(storage, pool, &event.payload)
            .await
            .map_err(|error| Diagnostic { error_type: error.error_type().to_owned(), error_message: error.to_string() })
    }))
    .await
}
