//! The migrate Lambda's entry point: clients and the pool are set up once per container.

use tracing::info;
use zipster_aws::s3::S3Storage;
use zipster_aws::secrets::SecretsManager;
use zipster_db::connect::{Limits, describe, lazy_pool};
use zipster_db::credentials::options_from_env;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let aws = zipster_aws::load_config().await;
    let secrets = SecretsManager::new(&aws);
    let options =
        options_from_env(|name| std::env::var(name).ok(), async |arn| secrets.secret_string(arn).await).await?;
    info!(database = %describe(&options), "migrate function starting");
    let storage = S3Storage::new(&aws);
    // One connection: migrations take sqlx's lock and the seed runs after them.
    let readiness = zipster_migrate::Readiness::from_env(|name| std::env::var(name).ok())?;
    let pool = lazy_pool(options.clone(), Limits { max_connections: 1, ..Limits::default() });
    let (storage, pool, options) = (&storage, &pool, &options);
    zipster_aws::handler::run(async |event| {
        // A fresh host may still be installing MariaDB: wait for it, bounded.
        zipster_migrate::wait_until_ready(options, &readiness).await?;
        zipster_migrate::handle(storage, pool, &event).await
    })
    .await
}
