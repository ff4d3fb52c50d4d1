//! The HTTP sidecar with the real models, on 127.0.0.1 with a random port.

mod common;

use common::TOKEN;
use fieldline_capture::ModelDir;
use fieldline_capture::ocr::ppocr::PpOcr;
use fieldline_capture::serve::SidecarState;
use fieldline_capture::voice::VoiceOptions;
use std::path::Path;

async fn spawn() -> String {
    let engine = PpOcr::load(&ModelDir::locate(None), 2).unwrap_or_else(|e| panic!("{e:#}"));
    common::serve(
        SidecarState::new(Box::new(engine), None, VoiceOptions::default(), TOKEN).unwrap(),
    )
    .await
}

fn card_bytes(file: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("devset/cards")
            .join(file),
    )
    .unwrap()
}

#[tokio::test]
async fn sidecar_reads_cards_and_refuses_bad_requests() {
    let base = spawn().await;
    let client = reqwest::Client::new();

    let health = common::health(&base).await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["models"]["ocr"]["engine"], "ppocr-v6");

    let post = |body: Vec<u8>, token: Option<&str>| {
        let mut req = client
            .post(format!("{base}/v1/cards"))
            .header("x-file-name", "card-003.jpg")
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };

    let r = post(card_bytes("card-003.jpg"), Some(TOKEN)).await.unwrap();
    assert_eq!(r.status(), 200);
    let card: serde_json::Value = r.json().await.unwrap();
    assert_eq!(card["file"], "card-003.jpg");
    assert!(!card["phones"].as_array().unwrap().is_empty());
    assert!(card["emails"][0].as_str().unwrap().contains('@'));

    assert_eq!(
        post(card_bytes("card-003.jpg"), None)
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        post(card_bytes("card-003.jpg"), Some("wrong-token-wrong-token"))
            .await
            .unwrap()
            .status(),
        401
    );

    let r = post(b"definitely not an image".to_vec(), Some(TOKEN))
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["code"],
        "unsupported_format"
    );
    let r = post(Vec::new(), Some(TOKEN)).await.unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["code"],
        "empty_input"
    );

    let r = post(vec![0u8; 26 * 1024 * 1024], Some(TOKEN))
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["code"],
        "payload_too_large"
    );

    // Concurrent uploads queue on the one loaded engine and all succeed.
    let (a, b) = tokio::join!(
        post(card_bytes("card-004.jpg"), Some(TOKEN)),
        post(card_bytes("card-005.jpg"), Some(TOKEN))
    );
    assert_eq!(
        (a.unwrap().status().as_u16(), b.unwrap().status().as_u16()),
        (200, 200)
    );
    let shelf =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("devset/shelves/shelf-000.jpg"))
            .unwrap();
    let r = client
        .post(format!("{base}/v1/shelves"))
        .bearer_auth(TOKEN)
        .body(shelf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let audit: serde_json::Value = r.json().await.unwrap();
    assert!(audit["price_tags"].as_array().unwrap().len() >= 10);
    assert!(audit["out_of_stock"].is_boolean());
    let r = client
        .get(format!("{base}/v1/shelves"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["code"],
        "method_not_allowed"
    );
    // Voice is a POST route like the others; an unknown route is a JSON 404.
    assert_eq!(
        client
            .get(format!("{base}/v1/voice"))
            .send()
            .await
            .unwrap()
            .status(),
        405
    );
    assert_eq!(
        client
            .get(format!("{base}/v1/receipts"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[test]
fn weak_tokens_are_refused_at_start() {
    let engine = PpOcr::load(&ModelDir::locate(None), 1).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(SidecarState::new(Box::new(engine), None, VoiceOptions::default(), "short").is_err());
}
