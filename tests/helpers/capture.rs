//! The capture sidecar with the real models, served on 127.0.0.1 for the server under test to
//! call over HTTP, as `fieldline-capture serve` is in production. The models load once per
//! test binary; each test serves them on its own port.

use fieldline_capture::ModelDir;
use fieldline_capture::ocr::ppocr::PpOcr;
use fieldline_capture::serve::{SidecarState, router};
use fieldline_capture::voice::VoiceOptions;
use fieldline_capture::voice::asr::{WhisperAsr, Window};
use std::path::PathBuf;
use std::sync::OnceLock;

/// The bearer token the test sidecars accept.
pub const CAPTURE_TOKEN: &str = "capture-e2e-token-0123456789";

fn engines() -> SidecarState {
    static STATE: OnceLock<SidecarState> = OnceLock::new();
    STATE
        .get_or_init(|| {
            let models = ModelDir::locate(None);
            let ocr = PpOcr::load(&models, 2).unwrap_or_else(|e| panic!("{e:#}"));
            let asr = WhisperAsr::load(&models, 2, Window::Fit).unwrap_or_else(|e| panic!("{e:#}"));
            SidecarState::new(
                Box::new(ocr),
                Some(asr),
                VoiceOptions::default(),
                CAPTURE_TOKEN,
            )
            .expect("a sidecar state")
        })
        .clone()
}

/// Serves the sidecar on `listener`; the server stops with the test's runtime.
pub fn serve_on(listener: tokio::net::TcpListener) {
    let state = engines();
    tokio::spawn(async move { axum::serve(listener, router(state)).await });
}

/// A sidecar on a free port; its base URL.
pub async fn capture_sidecar() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    // Load before answering, so the first reading is not slowed by model loading.
    tokio::task::spawn_blocking(engines).await.unwrap();
    serve_on(listener);
    base
}

/// A file of the capture crate's development set.
pub fn devset(path: &str) -> Vec<u8> {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../capture/devset")
        .join(path);
    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}
