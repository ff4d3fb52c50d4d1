//! From the sidecar's answer to what the upload keeps: every card field with the confidence
//! of the OCR text it came from, the voice note's follow-up resolved to instants, the shelf's
//! tags and gaps.

use super::client::{CardReply, LineReply, ShelfReply, VoiceReply};
use fieldline_domain::{CapturedField, CardCapture, ShelfCapture, VoiceCapture};

/// Letters and digits only, lower-cased: how a field and an OCR line are compared.
fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric() || *c == '@' || *c == '.')
        .flat_map(char::to_lowercase)
        .collect()
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The confidence of `value`: the best line that holds it whole; else the mean of the lines
/// it was joined from (each line lies inside the value); 0 when neither (the field's text is
/// not what OCR read, so the rep must look).
fn confidence(value: &str, lines: &[LineReply], as_digits: bool) -> f32 {
    let norm = |s: &str| if as_digits { digits(s) } else { fold(s) };
    let want = norm(value);
    // A phone is printed without its country code: its last eight digits find its line.
    let want = if as_digits && want.len() > 8 {
        want[want.len() - 8..].to_owned()
    } else {
        want
    };
    if want.is_empty() {
        return 0.0;
    }
    let whole = lines
        .iter()
        .filter(|l| norm(&l.text).contains(&want))
        .map(|l| l.confidence)
        .fold(None, |best: Option<f32>, c| {
            Some(best.map_or(c, |b| b.max(c)))
        });
    if let Some(c) = whole {
        return c;
    }
    let parts: Vec<f32> = lines
        .iter()
        .filter(|l| {
            let t = norm(&l.text);
            t.chars().count() >= 2 && want.contains(&t)
        })
        .map(|l| l.confidence)
        .collect();
    if parts.is_empty() {
        0.0
    } else {
        parts.iter().sum::<f32>() / parts.len() as f32
    }
}

pub fn card(reply: &CardReply) -> CardCapture {
    let mut fields = Vec::new();
    let mut push = |field: &str, value: &str, as_digits: bool| {
        let value = value.trim();
        if !value.is_empty() {
            let c = confidence(value, &reply.lines, as_digits);
            fields.push(CapturedField::new(field, value, c));
        }
    };
    for (field, value) in [
        ("name", &reply.name),
        ("title", &reply.title),
        ("department", &reply.department),
        ("company", &reply.company),
    ] {
        if let Some(v) = value {
            push(field, v, false);
        }
    }
    for phone in &reply.phones {
        // Fax numbers reach nobody: kept out of the contact.
        if phone.kind != "fax" {
            push("phone", &phone.number, true);
        }
    }
    for email in &reply.emails {
        push("email", email, false);
    }
    for site in &reply.websites {
        push("website", site, false);
    }
    if let Some(address) = &reply.address {
        push("address", address, false);
    }
    CardCapture {
        fields,
        proposal: None,
    }
}

pub fn shelf(reply: &ShelfReply) -> ShelfCapture {
    ShelfCapture {
        prices: reply
            .price_tags
            .iter()
            .filter_map(|t| t.price.clone())
            .collect(),
        price_tags: reply.price_tags.len() as u32,
        out_of_stock: reply.out_of_stock,
        gaps: reply.gaps.len() as u32,
    }
}

pub fn voice(reply: &VoiceReply) -> VoiceCapture {
    let next = reply.followup.next_contact.as_ref();
    let mut tags: Vec<String> = reply.followup.concerns.clone();
    tags.extend(
        reply
            .followup
            .mentions
            .iter()
            .filter(|m| m.kind == "competitor")
            .map(|m| format!("竞品:{}", m.name)),
    );
    VoiceCapture {
        transcript: reply
            .transcript
            .chars()
            .take(fieldline_domain::capture::MAX_TRANSCRIPT_CHARS)
            .collect(),
        corrected: None,
        language: reply.language.clone(),
        duration_s: reply.duration_s,
        next_contact: next
            .and_then(|n| chrono::DateTime::parse_from_rfc3339(&n.at).ok())
            .map(|t| t.to_utc()),
        next_contact_phrase: next.map(|n| n.phrase.clone()),
        commitments: reply.followup.commitments.clone(),
        tags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::client::PhoneReply;

    fn line(text: &str, confidence: f32) -> LineReply {
        LineReply {
            text: text.into(),
            confidence,
        }
    }

    #[test]
    fn fields_take_the_confidence_of_the_text_they_were_read_from() {
        let reply = CardReply {
            name: Some("王建国".into()),
            company: Some("上海联华超市有限公司".into()),
            phones: vec![
                PhoneReply {
                    number: "+8613812345678".into(),
                    kind: "mobile".into(),
                },
                PhoneReply {
                    number: "+862155550000".into(),
                    kind: "fax".into(),
                },
            ],
            emails: vec!["Wang@LianHua.cn".into()],
            address: Some("上海市浦东新区张江路88号 3楼".into()),
            lines: vec![
                line("王 建 国", 0.98),
                line("上海联华超市有限公司", 0.7),
                line("手机：138 1234 5678", 0.93),
                line("E-mail: wang@lianhua.cn", 0.95),
                line("上海市浦东新区张江路88号", 0.9),
                line("3楼", 0.94),
            ],
            ..CardReply::default()
        };
        let c = card(&reply);
        let got: Vec<(&str, f32, bool)> = c
            .fields
            .iter()
            .map(|f| {
                let hundredths = (f.confidence * 100.0).round() / 100.0;
                (f.field.as_str(), hundredths, f.confirm)
            })
            .collect();
        assert_eq!(
            got,
            [
                ("name", 0.98, false),
                ("company", 0.7, true),
                ("phone", 0.93, false),
                ("email", 0.95, false),
                // Joined from two lines: their mean.
                ("address", 0.92, false),
            ]
        );
        // A value OCR never read whole or in parts is flagged.
        let odd = CardReply {
            title: Some("销售总监".into()),
            lines: vec![line("王建国", 0.99)],
            ..CardReply::default()
        };
        assert_eq!(card(&odd).fields[0].confidence, 0.0);
        assert!(card(&odd).fields[0].confirm);
    }
}
