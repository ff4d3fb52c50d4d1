//! The embedded server: every port on one SQLite file and attachments as local files under
//! `data_dir`, the scheduler in-process. The CLI in `main.rs` and the tests build through
//! [`build`]; nothing here knows about AWS (the CLI reaches it only with the `aws` feature).

use anyhow::Context;
use fieldline_app::config::StorageBackend;
use fieldline_app::state::{Clock, SystemClock};
use fieldline_app::{Application, Config, Stores};
use fieldline_store_sqlite::{LocalBlobStore, SqliteStore};
use std::sync::Arc;

/// SQLite under `data_dir` (created and migrated) and attachments as local files.
pub fn stores(config: &Config) -> anyhow::Result<Stores> {
    let store = Arc::new(SqliteStore::open(&config.database_path())?);
    Ok(Stores::single(
        store,
        Arc::new(LocalBlobStore::new(config.blob_dir())),
        "sqlite",
    ))
}

/// Opens (or creates) the embedded store under `data_dir`, migrates it and wires the app.
pub fn build(config: Config) -> anyhow::Result<Application> {
    build_with_clock(config, Arc::new(SystemClock))
}

/// [`build`] with an injected clock (tests, the demo seed).
pub fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Application> {
    config.validate()?;
    anyhow::ensure!(
        config.storage.backend == StorageBackend::Embedded,
        "storage.backend = \"aws\": the Lambda functions serve that deployment (docs/deploy.md)"
    );
    let stores = stores(&config)?;
    Ok(Application::from_parts(config, stores, clock)?.with_site(fieldline_web::site()))
}

/// Binds `config.listen` and serves until Ctrl-C / SIGTERM.
pub async fn serve(app: Application) -> anyhow::Result<()> {
    let listen = app.config().listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    eprintln!(
        "Fieldline is serving on http://{} (data in {})",
        listener.local_addr()?,
        app.config().data_dir.display()
    );
    if !fieldline_web::is_built() {
        eprintln!(
            "The web app is not built into this binary: run `bash scripts/build-web.sh`, then rebuild."
        );
    }
    app.serve(listener, shutdown_signal()).await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
