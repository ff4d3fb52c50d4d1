//! The retail store's contract: a tagged sale counts once however often a phone retries it,
//! concurrent sales at one store all count, counters are read by week range and region, and
//! a spike is announced (with its event) once.

use super::Backend;
use super::fixture::{actor_of, count, fixture, t0};
use crate::StoreError;
use fieldline_domain::retail::{SALES_KEY, SaleTags, TagCount};
use fieldline_domain::*;

fn sale(
    tenant: &TenantId,
    store: CustomerId,
    by: UserId,
    week: &str,
    region: &str,
    tags: &[&str],
) -> SaleTags {
    SaleTags {
        id: SaleTagsId::new(),
        tenant: tenant.clone(),
        store,
        region: region.into(),
        week: week.into(),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        by,
        at: t0(),
    }
}

fn tally(counts: &[TagCount], week: &str, region: &str, tag: &str) -> u64 {
    counts
        .iter()
        .filter(|c| c.week == week && c.region == region && c.tag == tag)
        .map(|c| c.count)
        .sum()
}

pub async fn sale_tags_count_once_and_spikes_are_announced_once<S: Backend>(store: S) {
    let f = fixture(store).await;
    let input = NewCustomer {
        name: "联华超市张江店".into(),
        kind: CustomerKind::Store,
        owner: None,
        addresses: vec![],
        tags: vec![],
        contacts: vec![],
    };
    let shop =
        Customer::create(&input, CustomerId::new(), &actor_of(&f.rep), &f.rep, t0()).unwrap();
    f.store.create_customer(&shop, &[], &[]).await.unwrap();
    let (t, by) = (&f.tenant, f.rep.id);

    let first = sale(
        t,
        shop.id,
        by,
        "2026-W48",
        "r1",
        &["focus:价格", "obstacle:太贵"],
    );
    assert!(f.store.record_sale_tags(&first).await.unwrap());
    assert!(
        !f.store.record_sale_tags(&first).await.unwrap(),
        "a retry is the same sale"
    );

    // Twenty sales at once, each sent twice: every one counts, once.
    let many: Vec<SaleTags> = (0..20)
        .map(|_| sale(t, shop.id, by, "2026-W48", "r1", &["obstacle:太贵"]))
        .collect();
    let writes: Vec<_> = many
        .iter()
        .chain(many.iter())
        .map(|s| {
            let (store, s) = (f.store.clone(), s.clone());
            tokio::spawn(async move { store.record_sale_tags(&s).await.unwrap() })
        })
        .collect();
    let mut fresh = 0;
    for w in writes {
        fresh += usize::from(w.await.unwrap());
    }
    assert_eq!(fresh, 20);

    f.store
        .record_sale_tags(&sale(t, shop.id, by, "2026-W47", "r1", &["focus:口感"]))
        .await
        .unwrap();
    f.store
        .record_sale_tags(&sale(t, shop.id, by, "2026-W48", "r2", &["focus:价格"]))
        .await
        .unwrap();
    let nowhere = sale(t, CustomerId::new(), by, "2026-W48", "r1", &["focus:价格"]);
    assert!(matches!(
        f.store.record_sale_tags(&nowhere).await,
        Err(StoreError::NotFound)
    ));

    let all = f
        .store
        .sale_tag_counts(t, None, "2026-W47", "2026-W48")
        .await
        .unwrap();
    assert_eq!(tally(&all, "2026-W48", "r1", SALES_KEY), 21);
    assert_eq!(tally(&all, "2026-W48", "r1", "obstacle:太贵"), 21);
    assert_eq!(
        tally(&all, "2026-W48", "r1", "focus:价格"),
        1,
        "the store that did not exist counted nothing"
    );
    assert_eq!(tally(&all, "2026-W47", "r1", "focus:口感"), 1);
    assert_eq!(tally(&all, "2026-W48", "r2", SALES_KEY), 1);
    let r1_this_week = f
        .store
        .sale_tag_counts(t, Some("r1"), "2026-W48", "2026-W48")
        .await
        .unwrap();
    assert!(
        r1_this_week
            .iter()
            .all(|c| c.region == "r1" && c.week == "2026-W48")
    );
    assert_eq!(r1_this_week.len(), 3, "{r1_this_week:?}");
    let other = TenantId::parse("other").unwrap();
    assert!(
        f.store
            .sale_tag_counts(&other, None, "2026-W01", "2026-W53")
            .await
            .unwrap()
            .is_empty()
    );

    let before = count(&f.store, t).await;
    let spiked = DomainEvent::new(
        t.clone(),
        Subject::Customer(shop.id),
        shop.version,
        None,
        None,
        t0(),
        EventPayload::SaleTagSpiked {
            region: "r1".into(),
            week: "2026-W48".into(),
            tag: "obstacle:太贵".into(),
            count: 21,
            sales: 21,
            share_permille: 1000,
            baseline_permille: 0,
        },
    );
    let key = "r1|2026-W48|obstacle:太贵";
    assert!(
        f.store
            .announce_spike(t, key, std::slice::from_ref(&spiked))
            .await
            .unwrap()
    );
    let again = DomainEvent {
        id: EventId::new(),
        ..spiked
    };
    assert!(!f.store.announce_spike(t, key, &[again]).await.unwrap());
    assert_eq!(count(&f.store, t).await, before + 1, "announced once");
}
