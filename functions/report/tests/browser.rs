//! The sample page in a real browser: Debian's chromium, headless (installed by
//! `zipster_tools::chromium::ensure` when missing). What a reader sees is checked on
//! the DOM Chromium built (`--dump-dom`), and a screenshot is checked to show the
//! page: its pixels vary, and the outcome's colour fills the top. `ZIPSTER_BLESS=1`
//! keeps the screenshot as `docs/report-sample.png` (the README's picture).

mod common;

use std::time::Instant;

use common::{decode, sample_page, text_of};
use zipster_tools::chromium;

#[test]
fn the_sample_page_renders_in_chromium() {
    let started = Instant::now();
    let browser = chromium::ensure().expect("chromium");
    eprintln!("chromium: {} ({:.2?} to find or install)", browser.display(), started.elapsed());
    let dir = tempfile::tempdir().expect("temp dir");
    let page = dir.path().join("zipcodes-ct.csv.report.html");
    std::fs::write(&page, sample_page()).expect("write the page");
    let url = chromium::file_url(&page);

    let dom = chromium::dump_dom(&browser, &url).expect("--dump-dom");
    eprintln!("--dump-dom: {:.2?}, {} bytes of DOM", dom.elapsed, dom.stdout.len());
    let dom = dom.stdout;
    let text = text_of(&dom);
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // The counts, as the reader sees them.
    for shown in ["40 rows read", "30 accepted", "9 rejected", "1 blank", "All 10 lines", "Staged"] {
        assert!(words.contains(shown), "{shown:?} not in the rendered text:\n{words}");
    }
    // A marked cell: its value, its reason in the text, and on hover (its title).
    assert!(words.contains("91 must lie between -90 and 90"), "the marked cell of line 9:\n{words}");
    let marked = dom
        .split("<td class=\"bad\" title=\"")
        .skip(1)
        .map(|t| decode(&t[..t.find('"').unwrap_or(0)]))
        .collect::<Vec<_>>();
    assert!(marked.contains(&"latitude (constraint-error): must lie between -90 and 90".to_owned()), "{marked:?}");
    // The hostile cell stayed text: Chromium built no element from it.
    assert!(words.contains("<script>alert(1)</script>"));
    assert!(!dom.contains("<script"), "a script element in the DOM");
    assert_eq!(dom.matches("<svg").count(), 2, "the two charts");

    let png = dir.path().join("report.png");
    let shot = chromium::screenshot(&browser, &url, &png, 1200, 900).expect("--screenshot");
    eprintln!("--screenshot: {:.2?}", shot.elapsed);
    let bytes = std::fs::read(&png).expect("the screenshot");
    let (width, height, pixels) = rgb(&bytes);
    assert_eq!((width, height), (1200, 900));
    let distinct: std::collections::HashSet<&[u8]> = pixels.chunks(3).collect();
    assert!(distinct.len() > 50, "only {} colours: a blank page?", distinct.len());
    // The staged header's green (#1a7f37) at its top left: the inline style applied.
    let at = |x: usize, y: usize| &pixels[(y * width as usize + x) * 3..][..3];
    assert_eq!(at(5, 5), [0x1a, 0x7f, 0x37], "the outcome's colour");
    // And the page is not all header: white below it, the charts' blue somewhere.
    assert!(pixels.chunks(3).any(|p| p == [0x09, 0x69, 0xda]), "no bar of the field chart");
    if common::bless() {
        std::fs::write(common::repo_root().join("docs/report-sample.png"), &bytes)
            .expect("write docs/report-sample.png");
    }
}

/// A PNG as 8-bit RGB.
fn rgb(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buffer = vec![0; reader.output_buffer_size().expect("a size")];
    let frame = reader.next_frame(&mut buffer).expect("its pixels");
    let data = &buffer[..frame.buffer_size()];
    let pixels = match frame.color_type {
        png::ColorType::Rgb => data.to_vec(),
        png::ColorType::Rgba => data.chunks(4).flat_map(|p| [p[0], p[1], p[2]]).collect(),
        other => panic!("a screenshot in {other:?}"),
    };
    (frame.width, frame.height, pixels)
}
