//! An AWS SDK error as an operator reads it: the service's own code and message, or what kept
//! the request from being sent (no credentials, no region, no connection) with its fix — never
//! the SDK's debug dump of the request and response (that goes to the debug log,
//! `PRESENCECTL_LOG=debug`).

use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};

/// What went wrong, in one line of at most a few hundred characters.
pub fn describe<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    tracing::debug!(error = ?error, "AWS call failed");
    match error {
        SdkError::ServiceError(context) => {
            let service = context.err();
            match (service.code(), service.message()) {
                (Some(code), Some(message)) => format!("{code}: {}", bounded(message)),
                (Some(code), None) => code.to_owned(),
                _ => chain(error),
            }
        }
        SdkError::TimeoutError(_) => "AWS did not answer in time".to_owned(),
        other => classify(&chain(other)),
    }
}

/// The fix for a request that could not be sent, when the description names its cause.
pub fn fix_for(description: &str) -> Option<&'static str> {
    if description.starts_with(NO_CREDENTIALS) {
        Some("sign in to AWS (aws sso login, or export AWS_PROFILE, or give --profile)")
    } else if description.starts_with(NO_REGION) {
        Some("give --region (or set AWS_REGION, or a region in your profile)")
    } else if description.starts_with(NO_CONNECTION) {
        Some("check the network (and AWS_ENDPOINT_URL, if set), then retry")
    } else {
        None
    }
}

const NO_CREDENTIALS: &str = "no AWS credentials";
const NO_REGION: &str = "no AWS region";
const NO_CONNECTION: &str = "could not connect to AWS";

/// The messages of the error and its sources, each once.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = next {
        let text = current.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = current.source();
    }
    bounded(&parts.join(": "))
}

/// Where the SDK's own wording of a known cause goes: the debug log (`describe` logs the
/// whole error there), not the operator's line, where it would name the last source the
/// chain tried (the instance metadata service, IMDS, on a laptop).
const SDK_DETAIL: &str = "PRESENCECTL_LOG=debug shows the SDK's detail";

/// A known cause named, the SDK's wording left to the debug log; otherwise the SDK's wording.
fn classify(chain: &str) -> String {
    let lower = chain.to_ascii_lowercase();
    if lower.contains("credentials") {
        format!(
            "{NO_CREDENTIALS}: the standard chain (environment, profile, SSO, instance role) found none ({SDK_DETAIL})"
        )
    } else if lower.contains("region") {
        format!("{NO_REGION} ({SDK_DETAIL})")
    } else if lower.contains("connect") || lower.contains("dns") || lower.contains("io error") {
        format!("{NO_CONNECTION} ({chain})")
    } else {
        chain.to_owned()
    }
}

/// One line, at most 300 characters (AWS errors name the resource and the reason, never a
/// secret value).
fn bounded(text: &str) -> String {
    let line = text.replace(['\n', '\r'], " ");
    match line.char_indices().nth(300) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_cause_comes_with_its_fix() {
        let credentials = classify(
            "dispatch failure: other: an error occurred while loading credentials: failed to load IMDS session token",
        );
        assert!(
            credentials.starts_with("no AWS credentials"),
            "{credentials}"
        );
        assert!(fix_for(&credentials).unwrap().contains("--profile"));
        // The last source the chain tried is the SDK's detail, not the operator's.
        assert!(!credentials.contains("IMDS"), "{credentials}");
        let region = classify("failed to construct request: no region was set");
        assert!(fix_for(&region).unwrap().contains("--region"));
        assert_eq!(
            fix_for("ValidationError: Stack with id x does not exist"),
            None
        );
    }

    #[test]
    fn long_text_is_cut_to_one_line() {
        let text = bounded(&format!("a\nb{}", "x".repeat(400)));
        assert!(!text.contains('\n'));
        assert_eq!(text.chars().count(), 301);
    }
}
