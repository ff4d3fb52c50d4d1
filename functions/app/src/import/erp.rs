//! The seam an ERP adapter plugs into. An adapter for Kingdee (金蝶) or Yonyou (用友) reads
//! the ERP's own API and answers the catalogue and stock counts in Fieldline's terms; the
//! sync (`sync_inventory`) validates and writes them as an inventory feed would. The CSV
//! connector here is the reference implementation: any system that can export a stock sheet
//! (物料编码, 仓库, 现存量) feeds Fieldline through it, pulled over HTTP(S) or handed in as bytes.

use super::table::decode;
use crate::error::AppError;
use crate::state::AppState;
use async_trait::async_trait;
use fieldline_domain::order::{Code, InventoryBatch, StockCount};
use fieldline_domain::{Actor, Permission};

/// What Fieldline needs from an ERP. Implementations map the ERP's codes to Fieldline codes
/// and report counts as absolute on-hand units (a retried sync sets the same values).
#[async_trait]
pub trait ErpConnector: Send + Sync {
    /// A short name for logs (`kingdee-k3`, `csv`).
    fn name(&self) -> &str;
    /// Every stock count the ERP holds now.
    async fn stock_counts(&self) -> Result<Vec<StockCount>, AppError>;
}

/// A stock sheet as the ERP exported it: the same columns and encodings `POST
/// /v1/imports/stock` reads.
pub struct CsvConnector {
    source: CsvSource,
}

enum CsvSource {
    Bytes(Vec<u8>),
    Url(url::Url, reqwest::Client),
}

impl CsvConnector {
    pub fn from_bytes(bytes: Vec<u8>) -> CsvConnector {
        CsvConnector {
            source: CsvSource::Bytes(bytes),
        }
    }

    /// Pulls the sheet from `url` (the ERP's scheduled export, behind its own auth).
    pub fn from_url(url: url::Url, client: reqwest::Client) -> CsvConnector {
        CsvConnector {
            source: CsvSource::Url(url, client),
        }
    }
}

#[async_trait]
impl ErpConnector for CsvConnector {
    fn name(&self) -> &str {
        "csv"
    }

    async fn stock_counts(&self) -> Result<Vec<StockCount>, AppError> {
        let bytes = match &self.source {
            CsvSource::Bytes(b) => b.clone(),
            CsvSource::Url(url, client) => client
                .get(url.clone())
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(|e| AppError::internal(format!("ERP sheet {url}"), e))?
                .bytes()
                .await
                .map_err(|e| AppError::internal(format!("ERP sheet {url}"), e))?
                .to_vec(),
        };
        let table = decode(&bytes)?;
        let col = |names: &[&str]| {
            table
                .header
                .iter()
                .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
        };
        let (Some(sku), Some(location), Some(qty)) = (
            col(&["sku", "物料编码", "存货编码"]),
            col(&["location", "仓库", "仓库编码"]),
            col(&["on_hand", "现存量", "结存数量", "库存"]),
        ) else {
            return Err(AppError::Unprocessable {
                code: "missing_column",
                message: "the ERP sheet needs SKU, location and on-hand columns".into(),
            });
        };
        table
            .rows
            .iter()
            .map(|(line, row)| {
                let get = |i: usize| row.get(i).map(String::as_str).unwrap_or_default();
                let bad = |m: String| AppError::InvalidField {
                    field: format!("row {line}"),
                    message: m,
                };
                Ok(StockCount {
                    sku: Code::parse(get(sku), "sku").map_err(|e| bad(e.to_string()))?,
                    location: Code::parse(get(location), "location")
                        .map_err(|e| bad(e.to_string()))?,
                    on_hand: get(qty)
                        .replace(',', "")
                        .parse()
                        .map_err(|_| bad(format!("{:?} is not a count", get(qty))))?,
                })
            })
            .collect()
    }
}

/// Pulls the connector's counts and writes them as inventory batches (the warehouse, managers,
/// admins, or the scheduler acting as an admin). Returns how many rows were set.
pub async fn sync_inventory(
    state: &AppState,
    actor: &Actor,
    erp: &dyn ErpConnector,
) -> Result<usize, AppError> {
    actor.check(Permission::RecordStock)?;
    let counts = erp.stock_counts().await?;
    for chunk in counts.chunks(fieldline_domain::order::MAX_INVENTORY_BATCH) {
        let batch = InventoryBatch {
            items: chunk.to_vec(),
        };
        crate::order::put_inventory(state, actor, batch).await?;
    }
    tracing::info!(erp = erp.name(), rows = counts.len(), "inventory synced");
    Ok(counts.len())
}
