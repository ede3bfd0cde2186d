//! [`Notify`] over Amazon SNS.

use aws_sdk_sns::error::DisplayErrorContext;

use crate::{Notify, NotifyError};

/// SNS rejects subjects over 100 characters.
const MAX_SUBJECT: usize = 100;

#[derive(Clone, Debug)]
pub struct SnsNotify {
    client: aws_sdk_sns::Client,
}

impl SnsNotify {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self { client: aws_sdk_sns::Client::new(config) }
    }
}

impl Notify for SnsNotify {
    async fn publish(&self, topic_arn: &str, subject: &str, message: &str) -> Result<(), NotifyError> {
        let subject: String = subject.chars().filter(char::is_ascii).take(MAX_SUBJECT).collect();
        self.client
            .publish()
            .topic_arn(topic_arn)
            .subject(subject)
            .message(message)
            .send()
            .await
            .map_err(|e| NotifyError { topic: topic_arn.to_owned(), message: DisplayErrorContext(e).to_string() })?;
        Ok(())
    }
}
