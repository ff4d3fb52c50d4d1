//! From OCR lines to a contact: labels ("手机:", "Tel", "E-mail") and patterns find phones,
//! e-mails, websites and addresses; keyword lists find company, department and title; the name
//! is the largest remaining line that looks like a person's name. Nothing is guessed: a field
//! with no evidence stays empty.

use crate::ocr::TextLine;
use once_cell::sync::Lazy;
use regex::Regex;
use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Phone {
    /// mobile, work, fax, whatsapp or other.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// E.164 when the number parses, else the digits as printed.
    pub number: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CardFields {
    pub name: Option<String>,
    pub title: Option<String>,
    pub department: Option<String>,
    pub company: Option<String>,
    pub phones: Vec<Phone>,
    pub emails: Vec<String>,
    pub websites: Vec<String>,
    pub address: Option<String>,
}

static EMAIL: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}").unwrap()
});
static WEBSITE: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)\b(?:https?://)?(?:www\.)?[a-z0-9][a-z0-9\-]*(?:\.[a-z0-9\-]+)*\.(?:com|cn|net|org|io|co|de|fr|es|it|jp|hk|sg|uk|vn|info|biz|tech|ai)(?:\.[a-z]{2})?(?:/[^\s]*)?").unwrap()
});
/// A run of phone-like characters with at least 7 digits.
static PHONE_RUN: Lazy<Regex> = Lazy::new(|| Regex::new(r"\+?\(?\d[\d\s\-().]{5,}\d").unwrap());
/// Labels that say what kind of number follows.
static PHONE_LABEL: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)(手机|移动电话|移动|电话|座机|总机|直线|传真|whatsapp|mobile|mob|cell|tel|phone|office|direct|fax|\bhp\b|\bm\b|\bt\b|\bf\b|\bp\b|\bw\b|\bo\b|\bd\b)\s*[.:：]?").unwrap()
});
static ADDRESS_LABEL: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)^\s*(地址|地 址|add(?:ress)?|adresse|dirección|direccion|indirizzo|anschrift)\s*[.:：]?\s*").unwrap()
});
static FIELD_LABEL: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)^\s*(邮箱|电邮|e-?mail|mail|网址|网站|web(?:site)?|url|www)\s*[.:：]\s*")
        .unwrap()
});
static CN_ADDRESS: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(省|市|区|县|镇|路|街|道|号|大厦|大楼|广场|园区|楼|室|弄|巷)").unwrap()
});
static COMPANY: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)(有限公司|有限责任公司|股份|集团|公司|工作室|事务所|研究院|研究所|银行|商行|厂|\bltd\b|\blimited\b|\binc\b|\bcorp\b|corporation|\bco\.|\bcompany\b|\bgmbh\b|\bllc\b|\bllp\b|\bs\.a\.|\bsas\b|\bsarl\b|\bs\.l\.|\bag\b|\bkg\b|\bs\.p\.a\.|\bsrl\b|\bgroup\b|holdings|technologies|technology|solutions|industries|industrial|trading|\bpte\b|\bplc\b|\bbv\b|\bjsc\b|\bco\.,)").unwrap()
});
static DEPARTMENT: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)(事业部|部门|部$|中心$|办公室$|\bdepartment\b|\bdept\b|\bdivision\b|\bdiv\.?$|\bsection\b|\babteilung\b|\bservice\b|\bdépartement\b|\bdepartamento\b)").unwrap()
});
static HAN: Lazy<Regex> = Lazy::new(|| Regex::new(r"^\p{Han}{2,4}$").unwrap());
static LATIN_NAME: Lazy<Regex> = Lazy::new(|| {
    Regex::new(
        r"^(?:(?:Dr|Mr|Mrs|Ms|Prof)\.?\s+)?\p{Lu}[\p{L}'\-]*\.?(?:\s+\p{Lu}[\p{L}'\-]*\.?){1,3}$",
    )
    .unwrap()
});

/// Full-width punctuation to ASCII and collapsed spaces.
fn normalise(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| match c {
            '：' => ':',
            '（' => '(',
            '）' => ')',
            '，' => ',',
            '＋' => '+',
            '－' | '—' | '–' => '-',
            '　' => ' ',
            c if ('！'..='～').contains(&c) => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            c => c,
        })
        .collect();
    let spaced = restore_spaces(&mapped);
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The recogniser often drops spaces in Latin text ("OliviaWalker", "124BakerStreet,London").
/// Word boundaries come back at lower→upper case changes, digit→word changes and after commas.
fn restore_spaces(text: &str) -> String {
    static CAMEL: Lazy<Regex> = Lazy::new(|| Regex::new(r"(\p{Ll})(\p{Lu})").unwrap());
    static DIGIT_WORD: Lazy<Regex> = Lazy::new(|| Regex::new(r"(\d)(\p{Lu}\p{Ll})").unwrap());
    static COMMA: Lazy<Regex> = Lazy::new(|| Regex::new(r",(\p{L})").unwrap());
    if EMAIL.is_match(text) || text.contains("www.") || text.contains("://") {
        return text.to_owned();
    }
    let t = CAMEL.replace_all(text, "$1 $2");
    let t = DIGIT_WORD.replace_all(&t, "$1 $2");
    COMMA.replace_all(&t, ", $1").into_owned()
}

/// Lower case with everything but letters and digits removed, for keyword search in text
/// whose spaces the recogniser lost ("GerentedeVentas").
fn folded(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Long keywords are safe to find inside run-together words; short ones need word boundaries.
fn has_keyword(text: &str, long: &[&str], short: &Regex) -> bool {
    let f = folded(text);
    long.iter().any(|k| f.contains(k)) || short.is_match(text)
}

const TITLE_WORDS: &[&str] = &[
    "总经理",
    "副总",
    "经理",
    "总监",
    "主管",
    "总裁",
    "董事",
    "工程师",
    "主任",
    "专员",
    "助理",
    "顾问",
    "代表",
    "设计师",
    "会计",
    "部长",
    "院长",
    "厂长",
    "店长",
    "合伙人",
    "创始人",
    "president",
    "director",
    "manager",
    "engineer",
    "officer",
    "consultant",
    "specialist",
    "representative",
    "executive",
    "partner",
    "founder",
    "chairman",
    "analyst",
    "architect",
    "coordinator",
    "assistant",
    "supervisor",
    "geschäftsführer",
    "geschaftsfuhrer",
    "leiter",
    "directeur",
    "directrice",
    "responsable",
    "gerente",
    "ingeniero",
    "ingénieur",
    "ingenieur",
    "direttore",
    "commercial",
    "vertrieb",
    "verkauf",
];
static TITLE_SHORT: Lazy<Regex> =
    Lazy::new(|| Regex::new(r"(?i)\b(ceo|cto|cfo|coo|cmo|vp|head|lead|buyer|jefe)\b").unwrap());
const ADDRESS_WORDS: &[&str] = &[
    "street",
    "road",
    "avenue",
    "boulevard",
    "floor",
    "suite",
    "building",
    "tower",
    "plaza",
    "district",
    "place",
    "straße",
    "strasse",
    "strabe",
    "platz",
    "allee",
    "calle",
    "avenida",
    "piazza",
    "pobox",
];
static ADDRESS_SHORT: Lazy<Regex> = Lazy::new(|| {
    Regex::new(
        r"(?i)\b(rd|st|ave|blvd|ln|dr|way|fl|ste|bldg|str|weg|rue|via|unit|#\d+-\d+|\d+/f)\b",
    )
    .unwrap()
});
/// Evidence that a Latin-script line is part of a postal address, each kind counted once:
/// a postcode as countries print them, a country, an administrative unit, a block or floor
/// number. One cue is common in other lines (a phone has number groups); two are an address.
static ADDRESS_CUES: Lazy<[Regex; 4]> = Lazy::new(|| {
    [
        // Postcodes: JP 100-0005 / 〒, BR 01310-100, PT 1000-001, CN/VN/IN six digits after a
        // comma, US "CA 94105", UK "SW1A 1AA".
        Regex::new(r"(?i)(〒\s*\d|\b\d{3}-\d{4}\b|\b\d{5}-\d{3}\b|\b\d{4}-\d{3}\b|,\s*\d{6}\b|\b[A-Z]{2}\s+\d{5}\b|\b[A-Z]{1,2}\d[A-Z\d]?\s+\d[A-Z]{2}\b)").unwrap(),
        Regex::new(r"(?i)\b(japan|viet\s?nam|china|p\.?\s?r\.?\s?c|thailand|singapore|korea|taiwan|malaysia|indonesia|philippines|usa|u\.s\.a|united states|brazil|brasil|portugal|germany|deutschland|france|spain|españa|italy|italia|united kingdom|india|australia|canada|mexico|méxico)\b").unwrap(),
        // Administrative units: Japanese -ku/-shi/-cho, Vietnamese ward/district/quận/phường,
        // city, prefecture, province, state, county.
        Regex::new(r"(?i)(\w-(ku|shi|cho|machi|gun|ken)\b|\b(city|prefecture|province|county|ward|dist\.?|district|quận|quan|phường|phuong|huyện|tỉnh|tp\.|ha noi|hanoi|ho chi minh)\b)").unwrap(),
        // Block and floor numbers: 2-10-14, 1-2-8, 5F, 22nd Fl.
        Regex::new(r"(?i)(^|[\s,])\d{1,4}(-\d{1,4}){1,3}([\s,.]|$)|\b\d{1,3}F\b|\b\d{1,3}(st|nd|rd|th)\s+fl").unwrap(),
    ]
});
/// "Head Office:", "Factory:", "TOKYO:" before an address: which office it is, not part of it.
/// The usual office names are labels without a colon too ("Head Office 2-10-14, ...").
static ADDRESS_PLACE_LABEL: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)^(?:\p{L}[\p{L} .]{1,24}:|(?:head\s*office|headquarters|head\s*quarters|main\s*office|registered\s*office|hq)\b\.?)\s*(\d)").unwrap()
});
/// An organisation's legal form on a line of its own, the rest of its name on the line above
/// ("JINNO INTERNATIONAL COOPERATION" / "JOINT STOCK COMPANY").
static LEGAL_FORM_LINE: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)^(joint[ -]stock company|company limited|co\.?,?\s*ltd\.?|limited|corporation|inc\.?|ltda\.?|gmbh|s\.?a\.?|jsc)$").unwrap()
});

const COMPANY_SUFFIXES: &[&str] = &[
    "有限公司",
    "有限责任公司",
    "股份",
    "集团",
    "公司",
    "事务所",
    "研究院",
    "研究所",
    "银行",
];
static COMPANY_STRONG: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)\b(ltd|limited|inc|corp|corporation|co\.|company|gmbh|llc|llp|sas|sarl|s\.?l|s\.?a|ag|kg|s\.p\.a|srl|pte|plc|bv|jsc)\b\.?\s*$").unwrap()
});

fn phone_kind(label: Option<&str>) -> Option<&'static str> {
    let l = label?
        .trim()
        .trim_end_matches([':', '.', '：'])
        .trim()
        .to_lowercase();
    Some(match l.as_str() {
        "手机" | "移动电话" | "移动" | "mobile" | "mob" | "cell" | "m" | "hp" => "mobile",
        "传真" | "fax" | "f" => "fax",
        "whatsapp" | "w" => "whatsapp",
        _ => "work",
    })
}

/// Every phone number in a line, each typed by the nearest label before it, else by its
/// number plan (a Chinese 1xx number is a mobile).
fn phones_in(line: &str) -> Vec<Phone> {
    let mut out = Vec::new();
    for m in PHONE_RUN.find_iter(line) {
        let raw = m.as_str().trim();
        let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
        if !(7..=16).contains(&digits.len()) {
            continue;
        }
        // Years, postcodes inside addresses are filtered by the caller; here only the label.
        let before = &line[..m.start()];
        let label = PHONE_LABEL
            .find_iter(before)
            .last()
            .filter(|l| before[l.end()..].trim().len() <= 2)
            .map(|l| l.as_str());
        let parsed = phonenumber::parse(Some(phonenumber::country::Id::CN), raw.replace("(0)", ""))
            .ok()
            .filter(phonenumber::is_valid);
        let by_plan =
            parsed
                .as_ref()
                .map(|p| match p.number_type(&phonenumber::metadata::DATABASE) {
                    phonenumber::Type::Mobile => "mobile",
                    _ => "work",
                });
        let kind = phone_kind(label).or(by_plan).unwrap_or("other");
        let number = match parsed {
            Some(p) => p.format().mode(phonenumber::Mode::E164).to_string(),
            None => raw.to_owned(),
        };
        if !out.iter().any(|p: &Phone| p.number == number) {
            out.push(Phone { kind, number });
        }
    }
    out
}

fn is_contact_line(text: &str) -> bool {
    EMAIL.is_match(text)
        || PHONE_LABEL.is_match(text) && PHONE_RUN.is_match(text)
        || FIELD_LABEL.is_match(text)
}

fn looks_like_address(text: &str) -> bool {
    if ADDRESS_LABEL.is_match(text) {
        return true;
    }
    let has_digit = text.chars().any(|c| c.is_ascii_digit());
    let han = text
        .chars()
        .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c))
        .count();
    (han >= 6 && CN_ADDRESS.find_iter(text).count() >= 2 && has_digit)
        || (han == 0 && has_digit && has_keyword(text, ADDRESS_WORDS, &ADDRESS_SHORT))
        || (han == 0 && address_cues(text) >= 2 && !EMAIL.is_match(text) && !phone_line(text))
}

fn address_cues(text: &str) -> usize {
    ADDRESS_CUES.iter().filter(|r| r.is_match(text)).count()
}

/// A line that is a labelled phone number ("TEL +81-3-5205-6455"), whatever else it holds.
fn phone_line(text: &str) -> bool {
    PHONE_LABEL
        .find(text)
        .is_some_and(|l| l.start() <= 1 && PHONE_RUN.is_match(&text[l.end()..]))
}

/// A line that opens an address the next line goes on with: it ends in a comma and starts
/// with a house number or names a building ("38B Trieu Viet Vuong, Bui Thi Xuan,",
/// "Marunouchi Park Building,").
fn opens_address(text: &str) -> bool {
    static HOUSE: Lazy<Regex> = Lazy::new(|| Regex::new(r"^\d+[A-Za-z]?\s+\p{Lu}").unwrap());
    text.ends_with(',')
        && !EMAIL.is_match(text)
        && (HOUSE.is_match(text) || has_keyword(text, ADDRESS_WORDS, &ADDRESS_SHORT))
}

fn is_company(text: &str) -> bool {
    COMPANY_SUFFIXES.iter().any(|k| text.contains(k)) || COMPANY_STRONG.is_match(text)
}

fn is_title(text: &str) -> bool {
    has_keyword(text, TITLE_WORDS, &TITLE_SHORT)
}

/// Splits "采购部 采购经理" / "Sales Dept | Sales Manager" into department and title.
fn split_department_title(text: &str) -> Option<(String, String)> {
    for sep in [" | ", "|", " / ", " · ", "·", " - "] {
        if let Some((a, b)) = text.split_once(sep) {
            let (a, b) = (a.trim(), b.trim());
            if DEPARTMENT.is_match(a) && is_title(b) {
                return Some((a.to_owned(), b.to_owned()));
            }
            if is_title(a) && DEPARTMENT.is_match(b) {
                return Some((b.to_owned(), a.to_owned()));
            }
        }
    }
    // Chinese without a separator: the department ends at 部 / 中心 and a title follows.
    static CN: Lazy<Regex> =
        Lazy::new(|| Regex::new(r"^(\p{Han}{1,10}?(?:事业部|部|中心))\s*(\p{Han}{2,8})$").unwrap());
    let caps = CN.captures(text)?;
    let title = caps[2].to_owned();
    is_title(&title).then(|| (caps[1].to_owned(), title))
}

pub fn extract(lines: &[TextLine]) -> CardFields {
    let mut fields = CardFields::default();
    let mut leftovers: Vec<(usize, String)> = Vec::new();
    // The index of the last line of the first address block: only a line right after it
    // can still join it, so once another block has begun the first is complete.
    let mut address_block: Option<usize> = None;
    for (i, line) in lines.iter().enumerate() {
        let text = normalise(&line.text);
        if text.is_empty() {
            continue;
        }
        let mut consumed = false;
        for m in EMAIL.find_iter(&text) {
            let mut e = m.as_str().trim_matches('.').to_owned();
            // A printed "E" label glued to the address ("Eolivia.walker@..."): addresses are
            // lower case in practice, so a leading capital E before a lower-case letter is the label.
            let mut chars = e.chars();
            if m.start() == 0
                && chars.next() == Some('E')
                && chars.next().is_some_and(|c| c.is_lowercase())
            {
                e.remove(0);
            }
            if !fields
                .emails
                .iter()
                .any(|x: &String| x.eq_ignore_ascii_case(&e))
            {
                fields.emails.push(e);
            }
            consumed = true;
        }
        let without_emails = EMAIL.replace_all(&text, " ");
        for m in WEBSITE.find_iter(&without_emails) {
            let mut site = m.as_str().trim_end_matches(['.', ',']).to_owned();
            // A website starts at its "www." (a glued "W" label reads as "Wwww.").
            if let Some(pos) = site.to_ascii_lowercase().find("www.") {
                site.drain(..pos);
            }
            let explicit =
                site.contains("www.") || site.contains("://") || FIELD_LABEL.is_match(&text);
            if explicit && !fields.websites.contains(&site) {
                fields.websites.push(site);
                consumed = true;
            }
        }
        let next_is_address = lines
            .get(i + 1)
            .is_some_and(|l| looks_like_address(&normalise(&l.text)));
        if looks_like_address(&text) || next_is_address && opens_address(&text) {
            // Only the first address block is the card's address (the head office); the
            // blocks after it are branches, read but not kept.
            // A line naming its office ("Branch: …") starts a block of its own.
            let continues = address_block.is_some_and(|last| last + 1 == i)
                && !ADDRESS_PLACE_LABEL.is_match(&text);
            if fields.address.is_none() || continues {
                let address = ADDRESS_LABEL.replace(&text, "");
                let address = ADDRESS_PLACE_LABEL.replace(&address, "$1");
                let address = address.trim();
                match &mut fields.address {
                    None => fields.address = Some(address.to_owned()),
                    Some(a) => {
                        a.push(' ');
                        a.push_str(address);
                    }
                }
                address_block = Some(i);
            }
            continue;
        }
        let phones = phones_in(&without_emails);
        if !phones.is_empty()
            && (PHONE_LABEL.is_match(&text)
                || text.chars().filter(char::is_ascii_digit).count() * 2 >= text.chars().count())
        {
            for p in phones {
                if !fields.phones.contains(&p) {
                    fields.phones.push(p);
                }
            }
            consumed = true;
        }
        if consumed || is_contact_line(&text) {
            continue;
        }
        leftovers.push((i, text));
    }

    // Company, department, title by keywords; the name from what is left.
    let mut names: Vec<(usize, String)> = Vec::new();
    let mut departments: Vec<String> = Vec::new();
    let mut previous: Option<(usize, String)> = None;
    let mut company_line: Option<usize> = None;
    for (i, text) in leftovers {
        let above = previous.replace((i, text.clone()));
        if let Some((dept, title)) = split_department_title(&text) {
            departments.push(dept);
            fields.title.get_or_insert(title);
        } else if LEGAL_FORM_LINE.is_match(&text)
            && let Some((j, name)) = above.filter(|(j, name)| {
                j + 1 == i
                    && !is_title(name)
                    && !DEPARTMENT.is_match(name)
                    && (fields.company.is_none() || company_line == Some(*j))
            })
        {
            // The name wrapped onto a line of its own above: it is not a person's name.
            names.retain(|(k, _)| *k != j);
            fields.company = Some(format!("{name} {text}"));
            company_line = Some(i);
        } else if is_company(&text) && fields.company.is_none() {
            fields.company = Some(text);
            company_line = Some(i);
        } else if is_title(&text) && !DEPARTMENT.is_match(&text) {
            fields.title.get_or_insert(text);
        } else if COMPANY.is_match(&text) && fields.company.is_none() {
            // Weaker evidence ("Group", "Technologies") only once the title had its chance.
            fields.company = Some(text);
            company_line = Some(i);
        } else if DEPARTMENT.is_match(&text) {
            // Every organisational unit, in printed order ("Section, Department, Division").
            departments.push(text);
        } else if HAN.is_match(&text.replace(' ', "")) || LATIN_NAME.is_match(&text) {
            names.push((i, text));
        }
    }
    if !departments.is_empty() {
        fields.department = Some(departments.join(", "));
    }
    // The name is printed largest.
    fields.name = names
        .into_iter()
        .max_by(|a, b| {
            lines[a.0]
                .height()
                .total_cmp(&lines[b.0].height())
                .then(b.0.cmp(&a.0))
        })
        .map(|(_, text)| {
            if HAN.is_match(&text.replace(' ', "")) {
                text.replace(' ', "")
            } else {
                text
            }
        });
    fields
}

/// Labels a pasted contact card (a WeChat or WeCom card shared as text, an e-mail
/// signature) puts before a value: `姓名：王建国`, `Company: Acme`.
static TEXT_LABEL: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)^\s*(姓名|名字|联系人|name|公司|单位|企业|公司名称|company|organi[sz]ation|职位|职务|头衔|title|position|部门|department|微信号?|wechat|企业微信)\s*[:：]\s*(.*)$").unwrap()
});

/// A contact card pasted as text, read by the same extractor as a photo: labelled lines
/// (`姓名：`, `公司：`, `职位：`, `部门：`) give their field directly; every other line goes
/// through [`extract`] as a line of equal size (typed text has no print sizes), so phones,
/// e-mails, websites and addresses are found the same way. WeChat ids are not contact
/// fields and are left out. Returns the fields and every line read, each certain.
pub fn extract_text(text: &str) -> (CardFields, Vec<TextLine>) {
    let mut labelled = CardFields::default();
    let (mut all, mut rest): (Vec<TextLine>, Vec<TextLine>) = (Vec::new(), Vec::new());
    for (i, raw) in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(60)
        .enumerate()
    {
        // Typed text is read exactly: every line is certain.
        let y = i as f32 * 40.0;
        let line = TextLine {
            text: raw.to_owned(),
            confidence: 1.0,
            bbox: [0.0, y, 600.0, y + 30.0],
        };
        all.push(line.clone());
        if let Some(caps) = TEXT_LABEL.captures(raw) {
            let value = caps[2].trim().to_owned();
            if value.is_empty() {
                continue;
            }
            let slot = match caps[1].to_lowercase().as_str() {
                "姓名" | "名字" | "联系人" | "name" => &mut labelled.name,
                "公司" | "单位" | "企业" | "公司名称" | "company" | "organisation"
                | "organization" => &mut labelled.company,
                "职位" | "职务" | "头衔" | "title" | "position" => &mut labelled.title,
                "部门" | "department" => &mut labelled.department,
                _ => continue,
            };
            slot.get_or_insert(value);
            continue;
        }
        rest.push(line);
    }
    let mut fields = extract(&rest);
    fields.name = labelled.name.or(fields.name);
    fields.company = labelled.company.or(fields.company);
    fields.title = labelled.title.or(fields.title);
    fields.department = labelled.department.or(fields.department);
    (fields, all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(specs: &[(&str, f32)]) -> Vec<TextLine> {
        let mut y = 0.0;
        specs
            .iter()
            .map(|(t, h)| {
                y += h + 10.0;
                TextLine {
                    text: t.to_string(),
                    confidence: 0.99,
                    bbox: [10.0, y, 300.0, y + h],
                }
            })
            .collect()
    }

    #[test]
    fn pasted_wechat_and_signature_cards_read_like_photos() {
        let (f, _) = extract_text(
            "姓名：王建国\n公司：苏州精密机械有限公司\n职位：采购经理\n手机：139 1234 5678\n\
             邮箱：wangjg@szjm.com.cn\n微信号：wjg_1980\n地址：江苏省苏州市工业园区星湖街328号",
        );
        assert_eq!(f.name.as_deref(), Some("王建国"));
        assert_eq!(f.company.as_deref(), Some("苏州精密机械有限公司"));
        assert_eq!(f.title.as_deref(), Some("采购经理"));
        assert_eq!(f.phones[0].number, "+8613912345678");
        assert_eq!(f.emails, ["wangjg@szjm.com.cn"]);
        assert!(f.address.as_deref().unwrap().contains("星湖街328号"));
        // An unlabelled signature: the same rules as a card photo.
        let (g, lines) = extract_text(
            "Olivia Walker\nChief Technology Officer\nHarbor Electronics Ltd\n\
             Mobile: +44 7700 900159\nolivia.walker@harbor.co",
        );
        assert_eq!(g.name.as_deref(), Some("Olivia Walker"));
        assert_eq!(g.company.as_deref(), Some("Harbor Electronics Ltd"));
        assert_eq!(g.emails, ["olivia.walker@harbor.co"]);
        assert_eq!(lines.len(), 5);
        assert!(lines.iter().all(|l| l.confidence == 1.0));
        assert_eq!(extract_text("").0, CardFields::default());
    }

    #[test]
    fn chinese_card() {
        let f = extract(&lines(&[
            ("苏州精密机械有限公司", 40.0),
            ("王建国", 64.0),
            ("采购部采购经理", 34.0),
            ("手机：13912345678", 30.0),
            ("电话：0512-67881234", 30.0),
            ("传真：0512-67881235", 30.0),
            ("邮箱:wangjg@szjm.com.cn", 30.0),
            ("网址：www.szjm.com.cn", 30.0),
            ("Wwww.szjm.com", 30.0),
            ("地址：江苏省苏州市工业园区星湖街328号", 30.0),
        ]));
        assert_eq!(f.company.as_deref(), Some("苏州精密机械有限公司"));
        assert_eq!(f.name.as_deref(), Some("王建国"));
        assert_eq!(f.department.as_deref(), Some("采购部"));
        assert_eq!(f.title.as_deref(), Some("采购经理"));
        assert_eq!(
            f.phones,
            vec![
                Phone {
                    kind: "mobile",
                    number: "+8613912345678".into()
                },
                Phone {
                    kind: "work",
                    number: "+8651267881234".into()
                },
                Phone {
                    kind: "fax",
                    number: "+8651267881235".into()
                },
            ]
        );
        assert_eq!(f.emails, ["wangjg@szjm.com.cn"]);
        assert_eq!(f.websites, ["www.szjm.com.cn", "www.szjm.com"]);
        assert_eq!(
            f.address.as_deref(),
            Some("江苏省苏州市工业园区星湖街328号")
        );
    }

    #[test]
    fn english_card_with_several_numbers_on_a_line() {
        let f = extract(&lines(&[
            ("Emily Chan", 50.0),
            ("Regional Sales Manager", 28.0),
            ("Harbor Packaging Ltd", 30.0),
            ("T +852 2123 4567  M +852 9123 4567", 24.0),
            ("emily.chan@harborpack.com", 24.0),
            ("18/F Tower 2, 8 Harbour Road, Wan Chai, Hong Kong", 24.0),
        ]));
        assert_eq!(f.name.as_deref(), Some("Emily Chan"));
        assert_eq!(f.title.as_deref(), Some("Regional Sales Manager"));
        assert_eq!(f.company.as_deref(), Some("Harbor Packaging Ltd"));
        assert_eq!(f.phones.len(), 2);
        assert_eq!(
            f.phones[0],
            Phone {
                kind: "work",
                number: "+85221234567".into()
            }
        );
        assert_eq!(f.phones[1].kind, "mobile");
        assert_eq!(
            f.address.as_deref(),
            Some("18/F Tower 2, 8 Harbour Road, Wan Chai, Hong Kong")
        );
        assert!(f.department.is_none() && f.websites.is_empty());
    }

    #[test]
    fn the_head_office_is_the_address_and_branches_are_left_out() {
        let f = extract(&lines(&[
            ("Kenji Watanabe", 48.0),
            ("Sales Manager", 26.0),
            ("Export Section", 22.0),
            ("Overseas Business Division", 22.0),
            ("Head Office", 20.0),
            ("3-5-1, Minamimachi, Sendai City,", 20.0),
            ("Miyagi, 980-0012 JAPAN", 20.0),
            ("TEL +81-22-123-4567", 20.0),
            ("Osaka Branch", 20.0),
            ("1-4-20, Kitahama, Chuo-ku,", 20.0),
            ("Osaka 541-0041 JAPAN", 20.0),
        ]));
        assert_eq!(
            f.address.as_deref(),
            Some("3-5-1, Minamimachi, Sendai City, Miyagi, 980-0012 JAPAN")
        );
        assert_eq!(
            f.department.as_deref(),
            Some("Export Section, Overseas Business Division")
        );
        assert_eq!(f.phones.len(), 1, "the phone is not an address: {f:?}");
        assert_eq!(f.name.as_deref(), Some("Kenji Watanabe"));
    }

    #[test]
    fn an_address_opening_with_a_house_number_and_a_wrapped_company_name() {
        let f = extract(&lines(&[
            ("MEKONG GREEN TRADING", 30.0),
            ("JOINT STOCK COMPANY", 24.0),
            ("Nguyen Thi Lan", 40.0),
            ("Marketing Director", 24.0),
            ("12A Le Loi, Ben Thanh Ward,", 20.0),
            ("District 1, Ho Chi Minh City, Vietnam", 20.0),
            ("Head Office: 45 Harbour Street, Floor 3, Da Nang", 20.0),
        ]));
        assert_eq!(
            f.company.as_deref(),
            Some("MEKONG GREEN TRADING JOINT STOCK COMPANY")
        );
        assert_eq!(
            f.address.as_deref(),
            Some("12A Le Loi, Ben Thanh Ward, District 1, Ho Chi Minh City, Vietnam")
        );
        assert_eq!(f.name.as_deref(), Some("Nguyen Thi Lan"));
        let labelled = extract(&lines(&[
            ("Ana Souza", 40.0),
            (
                "Factory: 210 Rua das Flores, 01310-100 São Paulo, Brasil",
                20.0,
            ),
        ]));
        assert_eq!(
            labelled.address.as_deref(),
            Some("210 Rua das Flores, 01310-100 São Paulo, Brasil"),
            "which office it is, is not part of the address"
        );
        let unmarked = extract(&lines(&[
            ("Ana Souza", 40.0),
            ("Head Office 5-2-1, Kita-ku, Osaka, 530-0001 JAPAN", 20.0),
        ]));
        assert_eq!(
            unmarked.address.as_deref(),
            Some("5-2-1, Kita-ku, Osaka, 530-0001 JAPAN"),
            "an office name is a label without its colon too"
        );
    }

    #[test]
    fn nothing_is_invented_from_noise() {
        let f = extract(&lines(&[
            ("~~~", 20.0),
            ("2024", 20.0),
            ("Thank you", 20.0),
        ]));
        assert_eq!(f, CardFields::default());
        assert_eq!(extract(&[]), CardFields::default());
    }

    proptest::proptest! {
        /// Any OCR output, however garbled, yields a record and never a panic.
        #[test]
        fn arbitrary_lines_never_panic(texts in proptest::collection::vec("\\PC{0,60}", 0..12), heights in proptest::collection::vec(1f32..90.0, 12)) {
            let lines: Vec<TextLine> = texts
                .iter()
                .zip(&heights)
                .enumerate()
                .map(|(i, (t, h))| TextLine { text: t.clone(), confidence: 0.9, bbox: [0.0, i as f32 * 100.0, 300.0, i as f32 * 100.0 + h] })
                .collect();
            let f = extract(&lines);
            // Whatever was extracted came from the input text.
            let all: String = texts.concat();
            for e in &f.emails {
                let local = e.split('@').next().unwrap_or("");
                let glued = format!("E{}", local);
                proptest::prop_assert!(all.contains(local) || all.contains(&glued), "{} not in input", e);
            }
        }
    }

    #[test]
    fn full_width_and_spacing_are_normalised() {
        assert_eq!(normalise("ＴＥＬ：０２１　１２３４"), "TEL:021 1234");
    }
}
