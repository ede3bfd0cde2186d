//! [`Notify`] over Amazon SNS.

use aws_sdk_sns::error::{BuildError, DisplayErrorContext};
use aws_sdk_sns::types::MessageAttributeValue;

use crate::{FEED_ATTRIBUTE, Notify, NotifyError};

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
    async fn publish(
        &self,
        topic_arn: &str,
        subject: &str,
        message: &str,
        feed: Option<&str>,
    ) -> Result<(), NotifyError> {
        let failed = |message: String| NotifyError { topic: topic_arn.to_owned(), message };
        let subject: String = subject.chars().filter(char::is_ascii).take(MAX_SUBJECT).collect();
        let mut request = self.client.publish().topic_arn(topic_arn).subject(subject).message(message);
        if let Some(feed) = feed {
            request =
                request.message_attributes(FEED_ATTRIBUTE, feed_attribute(feed).map_err(|e| failed(e.to_string()))?);
        }
        request.send().await.map_err(|e| failed(DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}

/// `feed` as a `String` message attribute: what an SNS filter policy on the
/// message's attributes matches.
fn feed_attribute(feed: &str) -> Result<MessageAttributeValue, BuildError> {
    MessageAttributeValue::builder().data_type("String").string_value(feed).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_feed_is_a_string_attribute() {
        let value = feed_attribute("cities").expect("a data type is set");
        assert_eq!((value.data_type(), value.string_value()), ("String", Some("cities")));
    }
}
