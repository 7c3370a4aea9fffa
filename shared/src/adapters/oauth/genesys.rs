//! The Genesys Cloud login (OAuth) service's token endpoint.

use super::answer::token_answer;
use super::{InvalidClient, IssuedToken, TokenEndpoint, secret_fields};
use crate::adapters::http::{self, Failure};
use crate::ports::{RemoteError, Service};
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

/// The Genesys Cloud login (OAuth) service.
pub struct GenesysLogin {
    pub login_url: Url,
}

pub struct GenesysCredentials {
    client_id: SecretString,
    client_secret: SecretString,
}

impl TokenEndpoint for GenesysLogin {
    type Credentials = GenesysCredentials;
    const SERVICE: Service = Service::GenesysLogin;
    const URL_SETTING: &'static str = "GENESYS_LOGIN_URL or GENESYS_ENVIRONMENT";

    fn credentials(
        &self,
        secret_id: &str,
        secret: &SecretString,
    ) -> Result<GenesysCredentials, RemoteError> {
        let [client_id, client_secret] =
            secret_fields(secret_id, secret, ["client_id", "client_secret"])?;
        Ok(GenesysCredentials {
            client_id,
            client_secret,
        })
    }

    async fn request(
        &self,
        http: &reqwest::Client,
        timeout: Duration,
        credentials: &GenesysCredentials,
    ) -> Result<Result<IssuedToken, InvalidClient>, Failure> {
        let url = format!(
            "{}/oauth/token",
            self.login_url.as_str().trim_end_matches('/')
        );
        let request = http
            .post(url)
            .timeout(timeout)
            .basic_auth(
                credentials.client_id.expose_secret(),
                Some(credentials.client_secret.expose_secret()),
            )
            .form(&[("grant_type", "client_credentials")]);
        let response = http::send(Self::SERVICE, "token", request)
            .await
            .map_err(|e| Failure::transport(&e, "token endpoint"))?;
        token_answer::<Self>(response).await
    }
}
