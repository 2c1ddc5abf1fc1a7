//! Printable documents as PDF (remittance advice, annual statements): A4 pages of headings, text
//! and label–value rows in the standard Helvetica font, so no font file is needed.

use axum::response::{IntoResponse, Response};
use http::header;
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

pub enum Block {
    Title(String),
    Heading(String),
    Text(String),
    /// A label and its value, the value in a column of its own (amounts line up).
    Row(String, String),
    Gap,
}

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 56.0;
const VALUE_X: f32 = 400.0;

/// The PDF as a download that no cache keeps.
pub fn response(filename: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".into()),
        ],
        bytes,
    )
        .into_response()
}

/// The bytes of the PDF.
pub fn render(blocks: &[Block]) -> Vec<u8> {
    let mut pages: Vec<Content> = vec![Content::new()];
    let mut y = HEIGHT - MARGIN;
    let line = |pages: &mut Vec<Content>, y: &mut f32, size: f32, x: f32, text: &str| {
        if *y < MARGIN + size {
            pages.push(Content::new());
            *y = HEIGHT - MARGIN;
        }
        let page = pages.last_mut().expect("a page");
        page.begin_text();
        page.set_font(Name(b"F1"), size);
        page.next_line(x, *y);
        page.show(Str(&win_ansi(text)));
        page.end_text();
    };
    for block in blocks {
        match block {
            Block::Title(text) => {
                line(&mut pages, &mut y, 18.0, MARGIN, text);
                y -= 28.0;
            }
            Block::Heading(text) => {
                y -= 6.0;
                line(&mut pages, &mut y, 13.0, MARGIN, text);
                y -= 20.0;
            }
            Block::Text(text) => {
                for part in wrap(text, 95) {
                    line(&mut pages, &mut y, 10.0, MARGIN, &part);
                    y -= 14.0;
                }
            }
            Block::Row(label, value) => {
                let parts = wrap(label, 60);
                for (i, part) in parts.iter().enumerate() {
                    line(&mut pages, &mut y, 10.0, MARGIN, part);
                    if i == 0 {
                        // On the label's first line.
                        line(&mut pages, &mut y, 10.0, VALUE_X, value);
                    }
                    y -= 14.0;
                }
            }
            Block::Gap => y -= 10.0,
        }
    }

    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let font = Ref::new(3);
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|i| Ref::new(4 + 2 * i as i32))
        .collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(pages.len() as i32);
    pdf.type1_font(font)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    for (i, content) in pages.into_iter().enumerate() {
        let contents = Ref::new(5 + 2 * i as i32);
        let mut page = pdf.page(page_ids[i]);
        page.parent(tree)
            .media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT))
            .contents(contents);
        page.resources().fonts().pair(Name(b"F1"), font);
        page.finish();
        pdf.stream(contents, &content.finish());
    }
    pdf.finish()
}

/// Words into lines of at most `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    lines
}

/// Text in the standard fonts' WinAnsi encoding: Latin-1, the pound sign, dashes and quotes;
/// anything else becomes '?'.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '€' => 0x80,
            _ => b'?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_a_pdf_with_its_text_and_pages() {
        let mut blocks = vec![
            Block::Title("Remittance advice".into()),
            Block::Row("Half day (up to 4 hours)".into(), "£75.00".into()),
        ];
        for i in 0..80 {
            blocks.push(Block::Text(format!("Line {i}")));
        }
        let bytes = render(&blocks);
        assert!(bytes.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("(Remittance advice)"));
        // "£75.00" in WinAnsi (the pound sign is 0xA3), written as a hex string.
        assert!(
            text.to_ascii_uppercase().contains("<A337352E3030>"),
            "{text}"
        );
        assert!(text.contains("/Count 2"), "80 lines need a second page");
    }

    #[test]
    fn long_text_wraps_at_word_boundaries() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("", 10), [""]);
    }
}
