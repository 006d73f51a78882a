//! Webhooks against the sandbox: CRUD, the signing secret, and signed
//! deliveries of ticket events to a server of the test, verified here with
//! HMAC-SHA256 as a receiver would.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use specbound::zendesk::prelude::*;
use specbound::zendesk::types;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::sandbox_setup::{agent, sandbox};

/// A request a webhook endpoint received: lower-case headers and the body.
struct Received {
    method: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// An endpoint on 127.0.0.1 answering 200 to everything; its URL, and what
/// it receives.
async fn endpoint() -> (String, mpsc::UnboundedReceiver<Received>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/zendesk/events", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut raw = Vec::new();
            let mut buf = [0u8; 4096];
            let head_end = loop {
                let n = socket.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break None;
                }
                raw.extend_from_slice(&buf[..n]);
                if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(i);
                }
            };
            let Some(head_end) = head_end else { continue };
            let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
            let mut lines = head.lines();
            let method = lines
                .next()
                .unwrap_or_default()
                .split(' ')
                .next()
                .unwrap_or_default()
                .to_string();
            let headers: HashMap<String, String> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                .collect();
            let length: usize = headers
                .get("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            let mut body = raw[head_end + 4..].to_vec();
            while body.len() < length {
                let n = socket.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&buf[..n]);
            }
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
            let _ = tx.send(Received {
                method,
                headers,
                body,
            });
        }
    });
    (url, rx)
}

/// The next delivery (the sandbox sends it from a task of its own).
async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a delivery within 10 s")
        .expect("the endpoint is up")
}

/// What a receiver checks: base64(HMAC-SHA256(secret, timestamp + body)).
fn signed_by(secret: &str, delivery: &Received) -> bool {
    let timestamp = &delivery.headers["x-zendesk-webhook-signature-timestamp"];
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(&delivery.body);
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    delivery.headers["x-zendesk-webhook-signature"] == expected
}

#[tokio::test]
async fn ticket_events_are_delivered_signed_with_the_webhooks_secret() {
    let server = sandbox().start().await.unwrap();
    let (zd, _) = agent(&server);
    let (url, mut rx) = endpoint().await;
    let body: types::WebhookRequest = serde_json::from_value(json!({"webhook": {
        "name": "Ticket events", "endpoint": url, "http_method": "POST", "request_format": "json",
        "status": "active",
        "subscriptions": ["zen:event-type:ticket.created", "zen:event-type:ticket.status_changed"],
        "authentication": {"type": "basic_auth", "add_position": "header",
            "data": {"username": "hook", "password": "hook-password"}},
    }}))
    .unwrap();
    let webhook = zd
        .create_webhook()
        .body(body)
        .send()
        .await
        .unwrap()
        .into_inner()
        .webhook
        .unwrap();
    let id = webhook.id.clone().unwrap();
    assert_eq!(id.len(), 26, "a ULID");
    let auth = serde_json::to_value(webhook.authentication.unwrap()).unwrap();
    assert_eq!(
        auth["data"],
        json!({"username": "hook"}),
        "the password is never answered"
    );
    let secret = zd
        .get_webhook_signing_secret()
        .webhook_id(id.clone())
        .send()
        .await
        .unwrap()
        .into_inner()
        .signing_secret
        .unwrap();
    assert_eq!(secret.algorithm.as_deref(), Some("SHA256"));
    let secret = secret.secret.unwrap().expose().to_string();

    let ticket: types::TicketRequest = serde_json::from_value(
        json!({"ticket": {"subject": "Hooked", "comment": {"body": "Ring"}}}),
    )
    .unwrap();
    let created = zd
        .create_ticket()
        .body(ticket)
        .send()
        .await
        .unwrap()
        .into_inner()
        .ticket
        .unwrap();
    let delivery = next(&mut rx).await;
    assert_eq!(delivery.method, "POST");
    assert!(signed_by(&secret, &delivery), "{:?}", delivery.headers);
    assert!(!signed_by("another secret", &delivery));
    assert_eq!(delivery.headers["x-zendesk-webhook-id"], id);
    assert_eq!(
        delivery.headers["content-type"],
        "application/json; charset=utf-8"
    );
    let basic = base64::engine::general_purpose::STANDARD.encode("hook:hook-password");
    assert_eq!(delivery.headers["authorization"], format!("Basic {basic}"));
    let event: Value = serde_json::from_slice(&delivery.body).unwrap();
    assert_eq!(event["type"], "zen:event-type:ticket.created");
    assert_eq!(
        event["subject"],
        format!("zen:ticket:{}", created.id.unwrap())
    );
    assert_eq!(event["detail"]["id"], created.id.unwrap().to_string());
    assert_eq!(event["detail"]["subject"], "Hooked");
    assert_eq!(event["detail"]["status"], "NEW");

    // A reset secret signs what follows; the old one no longer verifies.
    let reset = zd
        .reset_webhook_signing_secret()
        .webhook_id(id.clone())
        .send()
        .await
        .unwrap();
    let new_secret = reset
        .into_inner()
        .signing_secret
        .unwrap()
        .secret
        .unwrap()
        .expose()
        .to_string();
    assert_ne!(new_secret, secret);
    let change: types::TicketRequest =
        serde_json::from_value(json!({"ticket": {"status": "pending"}})).unwrap();
    zd.update_ticket()
        .ticket_id(created.id.unwrap())
        .body(change)
        .send()
        .await
        .unwrap();
    let delivery = next(&mut rx).await;
    assert!(signed_by(&new_secret, &delivery));
    assert!(!signed_by(&secret, &delivery));
    let event: Value = serde_json::from_slice(&delivery.body).unwrap();
    assert_eq!(event["type"], "zen:event-type:ticket.status_changed");
    assert_eq!(
        event["event"],
        json!({"current": "PENDING", "previous": "NEW"})
    );
}

#[tokio::test]
async fn webhooks_are_listed_filtered_changed_and_deleted() {
    let server = sandbox().start().await.unwrap();
    let (zd, _) = agent(&server);
    let make = |name: &str, status: &str| -> types::WebhookRequest {
        serde_json::from_value(
            json!({"webhook": {"name": name, "endpoint": "https://example.com/hook",
            "http_method": "POST", "request_format": "json", "status": status}}),
        )
        .unwrap()
    };
    let a = zd
        .create_webhook()
        .body(make("Alpha hook", "active"))
        .send()
        .await
        .unwrap()
        .into_inner()
        .webhook
        .unwrap();
    zd.create_webhook()
        .body(make("Beta hook", "inactive"))
        .send()
        .await
        .unwrap();
    let inactive = zd
        .list_webhooks()
        .filter_status("inactive")
        .send()
        .await
        .unwrap()
        .into_inner()
        .webhooks;
    assert_eq!(
        inactive
            .iter()
            .map(|w| w.name.as_deref())
            .collect::<Vec<_>>(),
        [Some("Beta hook")]
    );
    let named = zd
        .list_webhooks()
        .filter_name_contains("alpha")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(named.webhooks.len(), 1);
    assert_eq!(named.meta.unwrap().has_more, Some(false));
    let by_name = zd
        .list_webhooks()
        .sort("-name")
        .send()
        .await
        .unwrap()
        .into_inner()
        .webhooks;
    assert_eq!(by_name[0].name.as_deref(), Some("Beta hook"));
    let id = a.id.unwrap();
    let rename: types::WebhookRequest =
        serde_json::from_value(json!({"webhook": {"name": "Renamed"}})).unwrap();
    zd.patch_webhook()
        .webhook_id(id.clone())
        .body(rename)
        .send()
        .await
        .unwrap();
    let shown = zd
        .get_webhook()
        .webhook_id(id.clone())
        .send()
        .await
        .unwrap()
        .into_inner()
        .webhook
        .unwrap();
    assert_eq!(shown.name.as_deref(), Some("Renamed"));
    assert_eq!(
        shown.endpoint.as_deref(),
        Some("https://example.com/hook"),
        "a patch keeps the rest"
    );
    // A replacement needs every required property.
    let partial: types::WebhookRequest =
        serde_json::from_value(json!({"webhook": {"name": "Only a name"}})).unwrap();
    let err = zd
        .update_webhook()
        .webhook_id(id.clone())
        .body(partial)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    zd.delete_webhook()
        .webhook_id(id.clone())
        .send()
        .await
        .unwrap();
    let gone = zd.get_webhook().webhook_id(id).send().await.unwrap_err();
    assert!(gone.is_not_found());
}
