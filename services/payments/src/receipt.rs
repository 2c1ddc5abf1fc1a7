//! Receipts for expenses: size and type checked from the content itself, not from what the
//! browser said, so a receipt is a PDF or a photo and nothing else.

/// 5 MiB: a phone photo of a receipt fits.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;

pub const TYPES: &[&str] = &["application/pdf", "image/jpeg", "image/png", "image/heic"];

/// The type the content is, by its first bytes.
pub fn sniff(content: &[u8]) -> Option<&'static str> {
    if content.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if content.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if content.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if content.len() > 12
        && &content[4..8] == b"ftyp"
        && matches!(&content[8..12], b"heic" | b"heix" | b"mif1" | b"heif")
    {
        Some("image/heic")
    } else {
        None
    }
}

/// Why a receipt is refused, if it is.
pub fn problem(content_type: &str, content: &[u8]) -> Option<String> {
    if content.is_empty() {
        return Some("the receipt is empty: choose the file again".into());
    }
    if content.len() > MAX_BYTES {
        return Some(format!(
            "the receipt is {:.1} MB; the most is 5 MB (take the photo at a lower size)",
            content.len() as f64 / (1024.0 * 1024.0)
        ));
    }
    match sniff(content) {
        None => Some("the receipt must be a PDF, JPEG, PNG or HEIC file".into()),
        Some(found) if !content_type.is_empty() && content_type != found => Some(format!(
            "the file says it is {content_type} but its content is {found}"
        )),
        Some(_) => None,
    }
}

/// A file name safe to show and to offer for download: its last path part, printable, at most
/// 100 characters.
pub fn clean_filename(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let kept: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>'))
        .take(100)
        .collect();
    if kept.trim().is_empty() {
        "receipt".into()
    } else {
        kept.trim().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_are_known_by_their_content() {
        assert_eq!(sniff(b"%PDF-1.7 ..."), Some("application/pdf"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some("image/jpeg"));
        assert_eq!(
            problem("image/png", b"%PDF-1.4").unwrap(),
            "the file says it is image/png but its content is application/pdf"
        );
        assert!(problem("application/pdf", b"MZ\x90\x00")
            .unwrap()
            .contains("must be a PDF"));
        assert!(problem("application/pdf", &[]).is_some());
        let mut big = b"%PDF-".to_vec();
        big.resize(MAX_BYTES + 1, b' ');
        assert!(problem("application/pdf", &big)
            .unwrap()
            .contains("the most is 5 MB"));
        assert_eq!(
            problem("", b"%PDF-1.4"),
            None,
            "no declared type: the content decides"
        );
    }

    #[test]
    fn file_names_lose_their_path_and_anything_unsafe() {
        assert_eq!(
            clean_filename("C:\\Users\\asha\\parking.pdf"),
            "parking.pdf"
        );
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("\"<x>\".png"), "x.png");
        assert_eq!(clean_filename(""), "receipt");
    }
}
