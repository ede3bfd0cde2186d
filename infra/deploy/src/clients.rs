//! The SDK clients of one stage's account and region, built once per command, and
//! the one way an SDK error becomes a message for a person ([`StageClients::error`]).

use anyhow::{Context, Result};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use zipster_infra::StageConfig;

/// The region and account moto answers with, whatever the environment says.
pub const LOCAL_REGION: &str = "us-east-1";
pub const LOCAL_ACCOUNT: &str = "123456789012";

#[derive(Clone, Debug)]
pub struct StageClients {
    pub s3: aws_sdk_s3::Client,
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub sts: aws_sdk_sts::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// The few EC2 calls destroy makes, without the EC2 SDK (see [`crate::ec2`]).
    pub ec2: crate::ec2::Ec2,
    pub region: String,
    /// An endpoint set in the configuration (`AWS_ENDPOINT_URL`, moto), if any.
    pub endpoint: Option<String>,
    /// What the clients were built from, so that a crate needing one more client
    /// (zipster-operate's CloudWatch Logs) builds it the same way, without this crate
    /// compiling it.
    pub config: aws_config::SdkConfig,
}

impl StageClients {
    /// The standard chain (profile, SSO, environment, `AWS_ENDPOINT_URL`). The region
    /// is always the stage's, so a profile's default region cannot put a stage elsewhere.
    pub async fn for_stage(stage: &StageConfig) -> Self {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(Region::new(stage.region.clone()))
            .load()
            .await;
        Self::from_config(&config, &stage.region)
    }

    /// StageClients that can only reach `endpoint` (moto): fake credentials, the local
    /// region, the endpoint set explicitly, so nothing in the environment (profiles,
    /// real keys) can send these calls to AWS.
    pub async fn local(endpoint: &str) -> Self {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(Region::new(LOCAL_REGION))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "zipster-local"))
            .endpoint_url(endpoint)
            .load()
            .await;
        Self::from_config(&config, LOCAL_REGION)
    }

    pub fn from_config(config: &aws_config::SdkConfig, region: &str) -> Self {
        // S3-compatible endpoints (moto, MinIO) serve buckets by path, not by host name.
        let path_style = config.endpoint_url().is_some();
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(config).force_path_style(path_style).build(),
        );
        Self {
            s3,
            cloudformation: aws_sdk_cloudformation::Client::new(config),
            lambda: aws_sdk_lambda::Client::new(config),
            sts: aws_sdk_sts::Client::new(config),
            sns: aws_sdk_sns::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            ec2: crate::ec2::Ec2::from_config(config, region),
            region: region.to_owned(),
            endpoint: config.endpoint_url().map(str::to_owned),
            config: config.clone(),
        }
    }

    /// The account the credentials belong to; also the first call, so missing
    /// credentials are reported here in one sentence.
    pub async fn account_id(&self) -> Result<String> {
        let identity =
            self.sts.get_caller_identity().send().await.map_err(self.error("GetCallerIdentity", "(credentials)"))?;
        identity.account().map(str::to_owned).context("GetCallerIdentity returned no account")
    }

    /// Turns an SDK error into one line for a person: the operation and resource, the
    /// HTTP status, the service's error code and message, the request id, and a hint
    /// for the usual causes. Never the SDK's `Debug` dump.
    pub fn error<E>(
        &self,
        operation: &'static str,
        resource: impl Into<String>,
    ) -> impl FnOnce(SdkError<E, HttpResponse>) -> anyhow::Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let resource = resource.into();
        let (region, endpoint) = (self.region.clone(), self.endpoint.clone());
        move |error| {
            let service = crate::error::service_of::<E>();
            let endpoint = endpoint.unwrap_or_else(|| crate::error::default_endpoint(service, &region));
            anyhow::anyhow!(crate::error::describe(operation, &resource, service, &endpoint, &error))
        }
    }
}
