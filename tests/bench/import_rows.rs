//! A large catalogue import on SQLite: `BENCH_ROWS` (100,000) SKU rows as Chinese Excel saves
//! them (GBK CSV, Chinese headers), through `import::import` as the API runs it — decoding,
//! checking every row against the stored catalogue, then writing — timed as a dry run and as
//! a commit into an empty catalogue, then again as a re-import where every row is unchanged.
//!
//! Baseline, same run: the same rows written with raw SQL in one transaction (the least a
//! store must do to hold them).
//!
//! Then the same for customers: `BENCH_ROWS` companies with one contact each (GBK, Chinese
//! headers, phones as people type them), where every row is also checked against the tenant's
//! company and contact keys; baseline the same rows as raw SQL inserts.
//!
//! Then leads: `BENCH_ROWS` people from a trade-show list (GBK, Chinese headers), each
//! checked against the tenant's leads and customers' contacts by phone; baseline raw SQL.
//!
//! `cargo bench -p fieldline-tests --bench import_rows` (`BENCH_KINDS=leads` runs one kind)

use fieldline_app::admin;
use fieldline_app::import::{self, ImportKind};
use fieldline_domain::*;
use std::time::Instant;

use fieldline_tests::bench::env_or;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rows = env_or("BENCH_ROWS", 100_000);
    let bench = fieldline_tests::bench::embedded_app()?;
    let (db_path, state) = (bench.db_path.clone(), bench.app.state().clone());
    admin::add_tenant(&state, "bench", "Bench", "Asia/Shanghai", "CN").await?;
    let tenant = TenantId::parse("bench")?;
    let boss = admin::add_user(
        &state,
        &tenant,
        "admin@bench.cn",
        "Admin",
        Role::Admin,
        None,
    )
    .await?;
    let actor = Actor {
        user: boss.id,
        tenant: tenant.clone(),
        role: Role::Admin,
        team: None,
    };
    let kinds = std::env::var("BENCH_KINDS").unwrap_or_else(|_| "skus,customers,leads".into());
    let wanted = |k: &str| kinds.split(',').any(|w| w.trim() == k);
    if wanted("skus") {
        skus(&state, &actor, &db_path, rows).await?;
    }
    if wanted("customers") {
        customers(&state, &actor, &db_path, rows).await?;
    }
    if wanted("leads") {
        let mut text = String::from("姓名,手机,公司,来源\n");
        for n in 0..rows {
            text.push_str(&format!(
                "访客{n},139 {:04} {:04},展商{n}号有限公司,展会\n",
                n / 10_000,
                n % 10_000
            ));
        }
        measure(
            &state,
            &actor,
            &db_path,
            ImportKind::Leads,
            &text,
            "lead rows",
        )
        .await?;
    }
    Ok(())
}

async fn skus(
    state: &fieldline_app::AppState,
    actor: &Actor,
    db_path: &std::path::Path,
    rows: usize,
) -> anyhow::Result<()> {
    let mut text = String::from("物料编码,名称,单价,底价,安全库存\n");
    for n in 0..rows {
        let price = 100 + n % 900;
        text.push_str(&format!(
            "SKU-{n:06},工业品 {n} 号,￥{price}.{:02},{},{}\n",
            n % 100,
            price * 8 / 10,
            n % 50
        ));
    }
    measure(state, actor, db_path, ImportKind::Skus, &text, "SKU rows").await
}

async fn customers(
    state: &fieldline_app::AppState,
    actor: &Actor,
    db_path: &std::path::Path,
    rows: usize,
) -> anyhow::Result<()> {
    let mut text = String::from("客户名称,类型,联系人,职务,手机\n");
    for n in 0..rows {
        text.push_str(&format!(
            "华东{n}号机电设备有限公司,distributor,联系人{n},采购经理,138 {:04} {:04}\n",
            n / 10_000,
            n % 10_000
        ));
    }
    measure(
        state,
        actor,
        db_path,
        ImportKind::Customers,
        &text,
        "customer rows, one contact each",
    )
    .await
}

/// Imports `text` (as GBK) three times — dry run, commit into nothing, re-import of the
/// same — checks every row was taken, then writes the same lines with raw SQL in one
/// transaction as the baseline, and prints the figures.
async fn measure(
    state: &fieldline_app::AppState,
    actor: &Actor,
    db_path: &std::path::Path,
    kind: ImportKind,
    text: &str,
    what: &str,
) -> anyhow::Result<()> {
    let (gbk, _, _) = encoding_rs::GBK.encode(text);
    let bytes = gbk.to_vec();
    let rows = text.lines().count() - 1;
    println!(
        "{rows} {what}: {:.1} MB of GBK CSV",
        bytes.len() as f64 / 1e6
    );
    let mut secs = [0.0; 3];
    let mut reports = Vec::new();
    for (i, dry_run) in [true, false, false].into_iter().enumerate() {
        let t = Instant::now();
        reports.push(
            import::import(
                state,
                actor,
                kind,
                &bytes,
                dry_run,
                None,
                &import::Progress::silent(),
            )
            .await?,
        );
        secs[i] = t.elapsed().as_secs_f64();
    }
    let (dry, done, again) = (&reports[0], &reports[1], &reports[2]);
    assert_eq!(
        dry.errors,
        0,
        "{:?}",
        dry.rows.iter().find(|r| r.error.is_some())
    );
    assert!(done.committed);
    assert_eq!(
        (dry.created, done.created, again.unchanged),
        (rows, rows, rows)
    );

    // Baseline: the same rows, raw SQL, one transaction, into a table of the same shape.
    let table = format!("base_{kind:?}").to_lowercase();
    let t = Instant::now();
    {
        let mut conn = rusqlite::Connection::open(db_path)?;
        conn.execute_batch(&format!("CREATE TABLE {table} (tenant_id TEXT, key TEXT, body TEXT, PRIMARY KEY (tenant_id, key)) WITHOUT ROWID"))?;
        let tx = conn.transaction()?;
        {
            let mut put = tx.prepare(&format!("INSERT INTO {table} VALUES ('bench', ?1, ?2)"))?;
            for (n, line) in text.lines().skip(1).enumerate() {
                put.execute(rusqlite::params![format!("K-{n:06}"), line])?;
            }
        }
        tx.commit()?;
    }
    print_figures(&format!("{rows} {what}"), secs, t.elapsed().as_secs_f64());
    Ok(())
}

/// One import's three timings against the same run's raw-SQL baseline.
fn print_figures(what: &str, [dry, commit, again]: [f64; 3], base: f64) {
    println!("import of {what} (target: a commit under 60 s):");
    for (label, secs) in [
        ("dry run         ", dry),
        ("commit (new)    ", commit),
        ("re-import (same)", again),
    ] {
        println!("  {label} {secs:6.1} s   {:.1}× baseline", secs / base);
    }
    println!("  baseline         {base:6.2} s   (raw SQL inserts, one transaction)");
}
