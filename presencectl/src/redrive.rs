//! `presencectl redrive`: the events waiting in the failure queue (Lambda's on-failure
//! destination records, which hold the original event as `requestPayload`) sent to the event
//! function again, asynchronously. A message is deleted only once Lambda accepted its
//! invocation; anything else stays queued. A dry run by default.

use crate::aws_error;
use crate::deployment::Deployment;
use crate::output::{Answer, fields};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use presence_core::domain::excerpt::cut;
use serde::Serialize;

/// How long a received message stays hidden from other readers while this command works on it.
const HOLD_SECS: i32 = 60;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Redrive {
    pub dry_run: bool,
    /// Messages read from the failure queue.
    pub read: usize,
    /// Invocations Lambda accepted (their messages deleted).
    pub sent: usize,
    /// Invocations refused (their messages stay queued).
    pub failed: usize,
    /// Messages that are not a failure record of this function (left queued).
    pub skipped: usize,
    pub messages: Vec<Message>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub message_id: String,
    pub event_id: Option<String>,
    /// Why the function gave up (`RetriesExhausted`, `EventAgeExceeded`) and its error type.
    pub condition: Option<String>,
    pub error_type: Option<String>,
    /// `would send`, `sent`, `failed: …`, `skipped: …`.
    pub result: String,
}

/// The original event of a Lambda on-failure destination record, if the body is one for
/// `function_arn`.
fn original_event(
    body: &str,
    function_arn: &str,
) -> Result<(serde_json::Value, serde_json::Value), String> {
    let record: serde_json::Value = serde_json::from_str(body)
        .map_err(|_| "not JSON: not a Lambda failure record".to_owned())?;
    let context = record
        .get("requestContext")
        .ok_or("no requestContext: not a Lambda failure record")?;
    let function = context
        .get("functionArn")
        .and_then(|f| f.as_str())
        .unwrap_or("");
    // The record names the function with its qualifier (`…:function:name:$LATEST`).
    let unqualified = function.strip_suffix(":$LATEST").unwrap_or(function);
    if unqualified != function_arn && !function.starts_with(&format!("{function_arn}:")) {
        return Err(format!(
            "a failure record of another function ({})",
            cut(function)
        ));
    }
    let event = record
        .get("requestPayload")
        .filter(|p| p.is_object())
        .ok_or("no requestPayload: the original event is not in the record")?;
    Ok((event.clone(), record))
}

pub async fn run(deployment: &Deployment, send: bool, max: u32) -> Result<Redrive, String> {
    let stack = (deployment.stack.as_ref()).ok_or(
        "redrive needs --stack: the stack's outputs name the failure queue and the function",
    )?;
    let queue = Queue {
        sqs: aws_sdk_sqs::Client::new(&deployment.aws),
        url: &stack.failure_queue_url,
    };
    let lambda = aws_sdk_lambda::Client::new(&deployment.aws);
    let mut answer = Redrive {
        dry_run: !send,
        read: 0,
        sent: 0,
        failed: 0,
        skipped: 0,
        messages: Vec::new(),
    };
    // Receipts of the messages that stay queued: visible again at the end, not after the hold.
    let mut kept = Vec::new();
    while answer.read < max as usize {
        let batch = (max as usize - answer.read).min(10) as i32;
        let messages = queue.receive(batch).await?;
        if messages.is_empty() {
            break;
        }
        for message in messages {
            answer.read += 1;
            let receipt = message.receipt_handle().unwrap_or_default().to_owned();
            let (line, outcome) = redrive_one(&queue, &lambda, stack, &message, send).await;
            match outcome {
                Outcome::Sent => answer.sent += 1,
                Outcome::Failed => answer.failed += 1,
                Outcome::Skipped => answer.skipped += 1,
                Outcome::WouldSend => {}
            }
            if outcome != Outcome::Sent {
                kept.push(receipt);
            }
            answer.messages.push(line);
        }
    }
    for receipt in kept {
        queue.release(&receipt).await;
    }
    Ok(answer)
}

/// The failure queue.
struct Queue<'a> {
    sqs: aws_sdk_sqs::Client,
    url: &'a str,
}

impl Queue<'_> {
    /// Up to `batch` messages, each hidden from other readers for [`HOLD_SECS`].
    async fn receive(&self, batch: i32) -> Result<Vec<aws_sdk_sqs::types::Message>, String> {
        let received = (self.sqs.receive_message())
            .queue_url(self.url)
            .max_number_of_messages(batch)
            .visibility_timeout(HOLD_SECS)
            .send()
            .await
            .map_err(|e| {
                let detail = aws_error::describe(&e);
                let fix = aws_error::fix_for(&detail)
                    .unwrap_or("let this principal call sqs:ReceiveMessage on the failure queue");
                format!(
                    "SQS: reading the failure queue {}: {detail} — fix: {fix}",
                    self.url
                )
            })?;
        Ok(received.messages().to_vec())
    }

    async fn delete(&self, receipt: &str) -> Result<(), String> {
        (self.sqs.delete_message())
            .queue_url(self.url)
            .receipt_handle(receipt)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error::describe(&e))
    }

    /// Makes a kept message visible again at once (best effort: otherwise after the hold).
    async fn release(&self, receipt: &str) {
        let _ = (self.sqs.change_message_visibility())
            .queue_url(self.url)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await;
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    WouldSend,
    Sent,
    Failed,
    Skipped,
}

/// One message: read, then (with `send`) invoked and deleted once Lambda accepted it.
async fn redrive_one(
    queue: &Queue<'_>,
    lambda: &aws_sdk_lambda::Client,
    stack: &crate::deployment::Stack,
    message: &aws_sdk_sqs::types::Message,
    send: bool,
) -> (Message, Outcome) {
    let mut line = Message {
        message_id: message.message_id().map(cut).unwrap_or_default(),
        event_id: None,
        condition: None,
        error_type: None,
        result: String::new(),
    };
    let body = message.body().unwrap_or_default();
    let (event, record) = match original_event(body, &stack.function_arn) {
        Ok(found) => found,
        Err(why) => {
            line.result = format!("skipped: {why}");
            return (line, Outcome::Skipped);
        }
    };
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(cut);
    line.event_id = text(event.get("id"));
    line.condition = text(record.pointer("/requestContext/condition"));
    line.error_type = text(record.pointer("/responsePayload/errorType"));
    if !send {
        line.result = "would send".into();
        return (line, Outcome::WouldSend);
    }
    let invoked = (lambda.invoke())
        .function_name(&stack.function_arn)
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(event.to_string()))
        .send()
        .await;
    let outcome = match invoked {
        Ok(out) if out.status_code() == 202 => Outcome::Sent,
        Ok(out) => {
            let status = out.status_code();
            line.result = format!("failed: Lambda answered {status} instead of 202; left queued");
            return (line, Outcome::Failed);
        }
        Err(e) => {
            let detail = aws_error::describe(&e);
            line.result = format!("failed: Lambda: {detail}; left queued");
            return (line, Outcome::Failed);
        }
    };
    let receipt = message.receipt_handle().unwrap_or_default();
    line.result = match queue.delete(receipt).await {
        Ok(()) => "sent".into(),
        // Sent twice at worst: the function de-duplicates by event id.
        Err(detail) => format!(
            "sent, but the message could not be deleted (it will be sent again; the function skips a duplicate): {detail}"
        ),
    };
    (line, outcome)
}

impl Answer for Redrive {
    fn text(&self) -> String {
        let head = if self.read == 0 {
            "✓ the failure queue is empty\n".to_owned()
        } else if self.dry_run {
            format!(
                "{} events waiting in the failure queue; would send {} (run with --send to send them)\n",
                self.read,
                self.read - self.skipped
            )
        } else if self.failed == 0 {
            format!("✓ sent {} of {} events again\n", self.sent, self.read)
        } else {
            format!(
                "✗ sent {}, {} failed and stay queued\n",
                self.sent, self.failed
            )
        };
        let rows: Vec<(&str, String)> = (self.messages.iter())
            .map(|m| {
                let what = format!(
                    "{} ({}, {}): {}",
                    m.event_id.as_deref().unwrap_or("-"),
                    m.condition.as_deref().unwrap_or("-"),
                    m.error_type.as_deref().unwrap_or("-"),
                    m.result
                );
                (m.message_id.as_str(), what)
            })
            .collect();
        head + &fields(&rows)
    }

    /// Events waiting (a dry run) or left queued are a problem; an empty queue or a full
    /// redrive is not.
    fn problem(&self) -> bool {
        self.failed > 0 || self.skipped > 0 || (self.dry_run && self.read > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:presence-sync";

    #[test]
    fn the_original_event_is_taken_from_a_failure_record_of_this_function() {
        let body = serde_json::json!({
            "version": "1.0",
            "requestContext": {"functionArn": format!("{ARN}:$LATEST"), "condition": "RetriesExhausted"},
            "requestPayload": {"id": "e-1", "detail": {}},
            "responsePayload": {"errorType": "GraphUnavailable"}
        });
        let (event, _) = original_event(&body.to_string(), ARN).unwrap();
        assert_eq!(event["id"], "e-1");
        let other = body.to_string().replace("presence-sync", "someone-else");
        assert!(
            original_event(&other, ARN)
                .unwrap_err()
                .contains("another function")
        );
        assert!(original_event("{}", ARN).is_err());
        assert!(original_event("not json", ARN).is_err());
        let no_payload = serde_json::json!({"requestContext": {"functionArn": ARN}});
        assert!(
            original_event(&no_payload.to_string(), ARN)
                .unwrap_err()
                .contains("requestPayload")
        );
    }
}
