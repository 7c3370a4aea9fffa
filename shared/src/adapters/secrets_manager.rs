//! Reads credentials from AWS Secrets Manager.

use crate::ports::{RemoteError, SecretSource};
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

const SERVICE: &str = "Secrets Manager";

impl SecretSource for SecretsManager {
    async fn fetch(&self, secret_id: &str) -> Result<SecretString, RemoteError> {
        let answer = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| classify(secret_id, e))?;
        answer.secret_string.map(SecretString::from).ok_or_else(|| {
            RemoteError::Configuration(format!(
                "secret {secret_id} has no string value (binary secrets are not supported)"
            ))
        })
    }
}

fn classify(secret_id: &str, error: SdkError<GetSecretValueError>) -> RemoteError {
    match &error {
        SdkError::ServiceError(service) => {
            let inner = service.err();
            let code = aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(inner)
                .unwrap_or("unknown");
            match inner {
                GetSecretValueError::ResourceNotFoundException(_) => {
                    RemoteError::Configuration(format!(
                        "secret {secret_id} does not exist (check AZURE_SECRET_ID / GENESYS_SECRET_ID)"
                    ))
                }
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
            detail: format!(
                "reading secret {secret_id} failed: {}",
                super::error_chain(&error)
            ),
        },
    }
}
