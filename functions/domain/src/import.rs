//! A spreadsheet import run as a job: the file arrives as an upload (straight to the blob
//! store, so no request limit applies), the upload carries what to import, and the job
//! reports how far it is and what it did on the upload record. The rows themselves are read
//! and checked by the app's `import` module.

use serde::{Deserialize, Serialize};

/// What an import brings in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ImportKind {
    /// The catalogue: code, name, unit price, floor price, safety stock, currency.
    Skus,
    /// Stock counts: SKU, location, on hand.
    Stock,
    /// Customers and their contacts, one row per contact: company, kind, address, tags,
    /// owner (e-mail), contact, title, phone, e-mail, role.
    Customers,
    /// Historic orders, one row per line: order number, date, company, SKU, quantity, unit
    /// price, location, channel; stored delivered and paid.
    Orders,
    /// Leads, one row per person: name, phone, e-mail, company, title, source, owner
    /// (e-mail), notes.
    Leads,
}

impl ImportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Skus => "skus",
            ImportKind::Stock => "stock",
            ImportKind::Customers => "customers",
            ImportKind::Orders => "orders",
            ImportKind::Leads => "leads",
        }
    }
}

/// The largest spreadsheet one import takes (100,000 rows of a wide sheet fit easily).
pub const MAX_IMPORT_BYTES: u64 = 64 * 1024 * 1024;

/// The longest column mapping (`sku=物料编码,on_hand=数量`).
pub const MAX_MAPPING_CHARS: usize = 1000;

/// What an import upload is to do with its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportRequest {
    pub kind: ImportKind,
    /// `true`: report every row's outcome and write nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Columns by header where the names are not recognised: `sku=物料编码,on_hand=数量`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 1000))]
    pub map: Option<String>,
}

/// The stage a long import is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ImportPhase {
    /// Rows read and checked against the stored records.
    Checking,
    /// Records written (a commit only).
    Writing,
}

/// How far an import is: `done` of `total` rows checked, or records written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProgressStep {
    pub phase: ImportPhase,
    pub done: usize,
    pub total: usize,
}

/// What a finished import did; every row's outcome is in its report
/// (`GET /v1/uploads/{id}/report`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportTotals {
    /// Whether the rows were written (never on a dry run or when any row is refused).
    pub committed: bool,
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub errors: usize,
}
