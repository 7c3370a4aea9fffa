//! Reads credentials from AWS Secrets Manager (each read counted in the metrics).

use crate::domain::excerpt::cut;
use crate::metrics::{self, Remote};
use crate::ports::{RemoteError, SecretSource, Service};
use aws_sdk_secretsmanager::error::SdkError;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use secrecy::SecretString;

#[derive(Clone, Debug)]
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManager {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        SecretsManager { client }
    }
}

const SERVICE: Service = Service::SecretsManager;

impl SecretSource for SecretsManager {
    async fn fetch(&self, secret_id: &str) -> Result<SecretString, RemoteError> {
        let call = self.client.get_secret_value().secret_id(secret_id).send();
        let answer = metrics::time_sdk(Remote::SecretsManager, "GetSecretValue", call)
            .await
            .map_err(|e| classify(secret_id, e))?;
        answer
            .secret_string
            .map(SecretString::from)
            .ok_or_else(|| RemoteError::Configuration {
                service: SERVICE,
                detail: format!(
                    "secret {secret_id} has no string value (binary secrets are not supported)"
                ),
            })
    }
}

fn classify(secret_id: &str, error: SdkError<GetSecretValueError>) -> RemoteError {
    match &error {
        SdkError::ServiceError(service) => {
            let inner = service.err();
            // The code is the service's text: cut, like every remote string in an error.
            let code = cut(
                aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(inner)
                    .unwrap_or("unknown"),
            );
            match inner {
                GetSecretValueError::ResourceNotFoundException(_) => RemoteError::Configuration {
                    service: SERVICE,
                    detail: format!(
                        "secret {secret_id} does not exist (check AZURE_SECRET_ID / GENESYS_SECRET_ID)"
                    ),
                },
                GetSecretValueError::DecryptionFailure(_) => RemoteError::Denied {
                    service: SERVICE,
                    detail: format!(
                        "cannot decrypt secret {secret_id} ({code}): the function's role needs kms:Decrypt on the secret's key"
                    ),
                },
                _ if code == "AccessDeniedException" => RemoteError::Denied {
                    service: SERVICE,
                    detail: format!(
                        "reading secret {secret_id} is denied: the function's role needs secretsmanager:GetSecretValue on it"
                    ),
                },
                _ => RemoteError::Unavailable {
                    service: SERVICE,
                    detail: format!("reading secret {secret_id} failed with {code}"),
                },
            }
        }
        _ => RemoteError::Unavailable {
            service: SERVICE,
            // The chain can quote what the endpoint answered: cut.
            detail: format!(
                "reading secret {secret_id} failed: {}",
                cut_long(&super::error_chain(&error))
            ),
        },
    }
}

/// A transport error chain, cut: long enough to keep the reason (the SDK's chains run to a
/// few hundred characters), short enough that an endpoint's answer cannot flood a log line.
fn cut_long(text: &str) -> String {
    const MAX: usize = 600;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_transport_error_is_cut() {
        let error: SdkError<GetSecretValueError> = SdkError::timeout_error("x".repeat(100_000));
        let message = classify("azure", error).to_string();
        assert!(message.len() < 1_000, "{} bytes", message.len());
        assert!(message.contains("Secrets Manager") && message.contains("azure"));
    }

    #[test]
    fn a_missing_secret_is_a_configuration_error_of_secrets_manager() {
        let error = RemoteError::Configuration {
            service: SERVICE,
            detail: "secret x does not exist".into(),
        };
        assert_eq!(error.error_type(), "ConfigurationError");
        assert!(error.to_string().starts_with("Secrets Manager"));
    }
}
