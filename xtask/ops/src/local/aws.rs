//! SDK clients for the local stage: moto's endpoint, a fixed region and fake
//! credentials, so that nothing here can reach a real AWS account whatever the
//! shell's environment holds.

use aws_sdk_s3::config::{Credentials, Region};

/// moto's default account, in every ARN it returns.
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

#[derive(Clone, Debug)]
pub struct Clients {
    pub endpoint: String,
    pub config: aws_config::SdkConfig,
    pub s3: aws_sdk_s3::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub cloudformation: aws_sdk_cloudformation::Client,
}

impl Clients {
    pub async fn new(endpoint: &str) -> Self {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "zipster-local"))
            .endpoint_url(endpoint)
            .load()
            .await;
        let s3 = aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build();
        Self {
            endpoint: endpoint.to_owned(),
            s3: aws_sdk_s3::Client::from_conf(s3),
            sns: aws_sdk_sns::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            cloudformation: aws_sdk_cloudformation::Client::new(&config),
            config,
        }
    }
}

/// The whole chain of an SDK error, in one line.
pub fn sdk_error<E: std::error::Error + 'static>(error: E) -> String {
    aws_sdk_s3::error::DisplayErrorContext(error).to_string()
}

/// The variables that point a function's SDK at moto, with fake credentials.
pub fn function_overrides(endpoint: &str) -> [(String, String); 5] {
    [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_REGION", REGION),
        ("AWS_DEFAULT_REGION", REGION),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
}
