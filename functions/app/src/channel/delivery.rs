use crate::egress::{PublicOnlyResolver, check_url};
use crate::scheduler::Job;
use crate::state::AppState;
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use fieldline_domain::{Channel, ChannelKind, Delivery, DeliveryResult, Timestamp};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::Duration;

/// Attempts before a delivery is dead-lettered.
pub const MAX_ATTEMPTS: u32 = 6;

/// How long a claimed delivery is reserved for one sender before another may retry it.
const LEASE: Duration = Duration::from_secs(60);

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// DingTalk robot signature: base64(HMAC-SHA256(key = secret, "{timestamp_ms}\n{secret}")).
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    BASE64.encode(hmac_sha256(
        secret.as_bytes(),
        format!("{timestamp_ms}\n{secret}").as_bytes(),
    ))
}

/// Feishu bot signature: base64(HMAC-SHA256(key = "{timestamp_s}\n{secret}", empty message)).
pub fn feishu_sign(secret: &str, timestamp_s: i64) -> String {
    BASE64.encode(hmac_sha256(
        format!("{timestamp_s}\n{secret}").as_bytes(),
        b"",
    ))
}

/// The request a delivery makes: URL (with DingTalk's signature in the query) and JSON body in
/// the service's documented format.
pub fn render(channel: &Channel, delivery: &Delivery, now: Timestamp) -> (String, Value) {
    let n = &delivery.notification;
    let text = match n.kind.as_str() {
        "escalation" => format!("【升级 Escalation】{}", n.message),
        _ => format!("【Fieldline】{}", n.message),
    };
    let text = match n.subject {
        Some(subject) => format!("{text}\n{}: {}", subject.kind(), subject.id()),
        None => text,
    };
    match channel.kind {
        ChannelKind::Webhook => (
            channel.url.clone(),
            json!({
                "delivery": delivery.id,
                "notification": n.id,
                "tenant": n.tenant,
                "user": n.user,
                // `lead` stays for receivers written against it; `subject` names any kind.
                "lead": n.subject.and_then(|s| s.as_lead()),
                "subject": n.subject.map(|s| json!({"kind": s.kind(), "id": s.id()})),
                "kind": n.kind,
                "message": n.message,
                "rule": n.rule,
                "created_at": n.created_at,
            }),
        ),
        ChannelKind::Wecom => (
            channel.url.clone(),
            json!({"msgtype": "text", "text": {"content": text}}),
        ),
        ChannelKind::Dingtalk => {
            let mut url = channel.url.clone();
            if let Some(secret) = &channel.secret {
                let ts = now.timestamp_millis();
                let sign = dingtalk_sign(secret, ts);
                let mut parsed = reqwest::Url::parse(&url).expect("validated when saved");
                parsed
                    .query_pairs_mut()
                    .append_pair("timestamp", &ts.to_string())
                    .append_pair("sign", &sign);
                url = parsed.to_string();
            }
            (url, json!({"msgtype": "text", "text": {"content": text}}))
        }
        ChannelKind::Feishu => {
            let mut body = json!({"msg_type": "text", "content": {"text": text}});
            if let Some(secret) = &channel.secret {
                let ts = now.timestamp();
                body["timestamp"] = json!(ts.to_string());
                body["sign"] = json!(feishu_sign(secret, ts));
            }
            (channel.url.clone(), body)
        }
    }
}

/// Whether the service accepted the message: HTTP 2xx, and for the robots their own
/// `errcode` / `code` of 0 (they answer 200 with an error code on a bad signature).
fn accepted(kind: ChannelKind, status: u16, body: &Value) -> Result<(), String> {
    if !(200..300).contains(&status) {
        return Err(format!("HTTP {status}"));
    }
    let code = match kind {
        ChannelKind::Webhook => return Ok(()),
        ChannelKind::Wecom | ChannelKind::Dingtalk => body.get("errcode"),
        ChannelKind::Feishu => body.get("code").or_else(|| body.get("StatusCode")),
    };
    match code.and_then(Value::as_i64) {
        Some(0) => Ok(()),
        Some(c) => Err(format!("service error {c}: {}", body)),
        None => Err(format!("unexpected reply: {body}")),
    }
}

/// Exponential backoff: 30 s, 1 min, 2 min, ... capped at 1 h.
pub fn backoff(attempts: u32) -> chrono::Duration {
    let seconds = 30i64.saturating_mul(1i64 << attempts.min(10));
    chrono::Duration::seconds(seconds.min(3600))
}

/// Delivers queued notifications; runs on every scheduler tick.
pub struct Notifier {
    state: AppState,
    http: reqwest::Client,
}

impl Notifier {
    pub fn new(state: AppState) -> Self {
        let mut http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            // A redirect could point anywhere; robots and webhooks answer directly.
            .redirect(reqwest::redirect::Policy::none());
        if !state.allow_private_egress {
            http = http.dns_resolver(std::sync::Arc::new(PublicOnlyResolver));
        }
        let http = http.build().expect("HTTP client builds");
        Self { state, http }
    }

    async fn send(
        &self,
        channel: &Channel,
        delivery: &Delivery,
        now: Timestamp,
    ) -> Result<(), String> {
        let (url, body) = render(channel, delivery, now);
        let parsed = reqwest::Url::parse(&url).map_err(|e| e.to_string())?;
        check_url(&parsed, self.state.allow_private_egress)?;
        let mut request = self
            .http
            .post(url)
            .header("x-fieldline-delivery", delivery.id.to_string());
        if channel.kind == ChannelKind::Webhook
            && let Some(secret) = &channel.secret
        {
            let bytes = serde_json::to_vec(&body).unwrap_or_default();
            let signature = hex::encode(hmac_sha256(secret.as_bytes(), &bytes));
            request = request
                .header("x-fieldline-signature", format!("sha256={signature}"))
                .header("content-type", "application/json")
                .body(bytes);
        } else {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let reply: Value = response.json().await.unwrap_or(Value::Null);
        accepted(channel.kind, status, &reply)
    }
}

#[async_trait]
impl Job for Notifier {
    fn name(&self) -> &str {
        "notifier"
    }

    async fn run(&self, now: Timestamp) -> anyhow::Result<()> {
        let lease_until = now + chrono::Duration::from_std(LEASE)?;
        let due = self
            .state
            .inbox
            .claim_deliveries(now, lease_until, 50)
            .await?;
        // Sent side by side, so one slow robot does not hold up the others (or the rules
        // engine, which runs on the same scheduler).
        let mut sends = tokio::task::JoinSet::new();
        for (delivery, channel) in due {
            let (http, state) = (self.http.clone(), self.state.clone());
            sends.spawn(async move {
                let notifier = Notifier { state, http };
                let result = match notifier.send(&channel, &delivery, now).await {
                    Ok(()) => DeliveryResult::Sent,
                    Err(error) if delivery.attempts + 1 >= MAX_ATTEMPTS => {
                        tracing::warn!(delivery = %delivery.id, channel = %channel.id, %error, "notification dead-lettered");
                        DeliveryResult::Dead { error }
                    }
                    Err(error) => DeliveryResult::Retry {
                        at: now + backoff(delivery.attempts),
                        error,
                    },
                };
                notifier
                    .state
                    .inbox
                    .finish_delivery(&delivery.notification.tenant, delivery.id, &result)
                    .await
            });
        }
        while let Some(done) = sends.join_next().await {
            done??;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dingtalk_and_feishu_signatures_follow_their_recipes() {
        // Recomputed independently: HMAC-SHA256 then base64.
        let ding = dingtalk_sign("SEC123", 1_700_000_000_000);
        let expected = BASE64.encode(hmac_sha256(b"SEC123", b"1700000000000\nSEC123"));
        assert_eq!(ding, expected);
        let feishu = feishu_sign("abc", 1_700_000_000);
        assert_eq!(feishu, BASE64.encode(hmac_sha256(b"1700000000\nabc", b"")));
        assert_ne!(ding, dingtalk_sign("SEC124", 1_700_000_000_000));
    }

    #[test]
    fn robots_answering_200_with_an_error_code_are_failures() {
        assert!(
            accepted(
                ChannelKind::Wecom,
                200,
                &json!({"errcode": 0, "errmsg": "ok"})
            )
            .is_ok()
        );
        assert!(
            accepted(
                ChannelKind::Dingtalk,
                200,
                &json!({"errcode": 310000, "errmsg": "sign not match"})
            )
            .is_err()
        );
        assert!(
            accepted(
                ChannelKind::Feishu,
                200,
                &json!({"code": 19021, "msg": "sign match fail"})
            )
            .is_err()
        );
        assert!(accepted(ChannelKind::Feishu, 200, &json!({"StatusCode": 0})).is_ok());
        assert!(accepted(ChannelKind::Webhook, 204, &Value::Null).is_ok());
        assert!(accepted(ChannelKind::Webhook, 500, &Value::Null).is_err());
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0).num_seconds(), 30);
        assert_eq!(backoff(1).num_seconds(), 60);
        assert_eq!(backoff(20).num_seconds(), 3600);
    }
}
