//! `alongside analyze`: the real binary, CSV files in, JSON out, and bad input refused with the
//! line and a non-zero exit.

use std::process::Command;

fn analyze(args: &[&str], csv: &str) -> (i32, serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.csv");
    std::fs::write(&input, csv).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_alongside"))
        .arg("analyze")
        .args(args)
        .arg("--input")
        .arg(&input)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null);
    (
        output.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn spc_takes_negative_values_and_a_negative_target() {
    // Mean change in an outcome score, which can fall below zero.
    let mut csv = String::from("period,value\n");
    for (i, v) in [
        -4.5, -3.0, -5.5, -4.0, -3.5, -4.5, -5.0, -4.0, -3.5, -4.5, -4.0, -5.0,
    ]
    .iter()
    .enumerate()
    {
        csv.push_str(&format!("2025-{:02},{v}\n", i + 1));
    }
    let (code, json, stderr) = analyze(&["spc", "--target", "-3"], &csv);
    assert_eq!(code, 0, "{stderr}");
    let mean = json["points"][0]["mean"].as_f64().unwrap();
    assert!((mean - -4.25).abs() < 1e-9, "{mean}");
    // The target lies between the mean and the upper limit: some months meet it, most do not.
    assert_eq!(json["assurance"], "hit_or_miss");
}

#[test]
fn spc_gives_every_point_its_limits_and_type() {
    // Twelve months around 90% positive, then one at 60%.
    let mut csv = String::from("period,value\n");
    for (i, v) in [90, 91, 90, 91, 90, 91, 90, 91, 90, 91, 90, 91]
        .iter()
        .enumerate()
    {
        csv.push_str(&format!("2025-{:02},{v}\n", i + 1));
    }
    csv.push_str("2026-01,60\n");
    let (code, json, _) = analyze(&["spc", "--target", "85"], &csv);
    assert_eq!(code, 0);
    let points = json["points"].as_array().unwrap();
    assert_eq!(points.len(), 13);
    // The moving range of 31 is screened out; the eleven of 1 leave limits about ±2.66 around a
    // mean of 88.2, so the fall to 60 is a concern.
    let last = &points[12];
    assert_eq!(last["period"], "2026-01");
    assert_eq!(last["type"], "special_cause_concern");
    assert!(last["value"].as_f64().unwrap() < last["lpl"].as_f64().unwrap());
    // The fall pulls the mean below all twelve earlier months: a run above it, a shift.
    assert!(points[..12]
        .iter()
        .all(|p| p["type"] == "special_cause_improvement"));
    for key in ["period", "value", "mean", "lpl", "upl", "type"] {
        assert!(points[0].get(key).is_some(), "{key}");
    }
    assert!(["pass", "fail", "hit_or_miss", "none"].contains(&json["assurance"].as_str().unwrap()));
    assert!(json["warnings"].as_array().unwrap().is_empty());
    let (_, neutral, _) = analyze(&["spc", "--improvement", "neutral"], &csv);
    assert_eq!(neutral["points"][12]["type"], "special_cause_neutral");
    assert_eq!(neutral["assurance"], "none");
}

#[test]
fn fft_publishes_each_unit_with_its_suppression() {
    let csv = "unit,parent,very_good,good,neither,poor,very_poor,dont_know\n\
               RZA,,150,30,5,3,2,0\n\
               W1,RZA,2,1,0,0,0,0\n\
               W2,RZA,100,20,5,3,2,0\n\
               W3,RZA,48,9,0,0,0,0\n";
    let (code, json, _) = analyze(&["fft"], csv);
    assert_eq!(code, 0);
    let units = json.as_array().unwrap();
    let of = |id: &str| units.iter().find(|u| u["unit"] == id).unwrap().clone();
    assert_eq!(of("RZA")["suppression"], "none");
    assert!((of("RZA")["pct_positive"].as_f64().unwrap() - 180.0 / 190.0).abs() < 1e-12);
    assert_eq!(of("W1")["suppression"], "primary");
    assert!(of("W1")["pct_positive"].is_null() && of("W1")["counts"].is_null());
    assert_eq!(of("W1")["total"], 3);
    // W3 (57) is the next smallest of W1's siblings: secondary, counts hidden, percentages shown.
    assert_eq!(of("W3")["suppression"], "secondary");
    assert!(of("W3")["counts"].is_null() && of("W3")["pct_positive"].is_number());
    assert_eq!(of("W2")["counts"]["very_good"], 100);
}

#[test]
fn bad_input_names_the_line_and_exits_non_zero() {
    let (code, _, message) = analyze(&["spc"], "period,value\n2025-01,10\n2025-02,ten\n");
    assert_eq!(code, 2);
    assert!(
        message.contains("line 3: value \"ten\" is not a number"),
        "{message}"
    );
    let (code, _, message) = analyze(&["spc"], "month,value\n2025-01,10\n");
    assert_eq!(code, 2);
    assert!(message.contains("no column \"period\""), "{message}");
    let (code, _, message) = analyze(&["spc", "--fix-after", "5"], "period,value\n2025-01,10\n");
    assert_eq!(code, 2);
    assert!(
        message.contains("--fix-after: must be at least 12"),
        "{message}"
    );
    let (code, _, message) = analyze(
        &["fft"],
        "unit,parent,very_good,good,neither,poor,very_poor,dont_know\nW1,RZX,1,1,1,1,1,-1\n",
    );
    assert_eq!(code, 2);
    assert!(
        message.contains("line 2: dont_know \"-1\" is not a whole number"),
        "{message}"
    );
    let (code, _, message) = analyze(
        &["fft"],
        "unit,parent,very_good,good,neither,poor,very_poor,dont_know\nW1,RZX,1,1,1,1,1,1\n",
    );
    assert_eq!(code, 2);
    assert!(
        message.contains("names a parent \"RZX\" that is not in the data"),
        "{message}"
    );
}

#[test]
fn themes_gives_each_comment_categories_and_a_sentiment() {
    let csv = "id,question,answer,comment\n\
               c1,worked_well,1,\"The nurses were so kind and caring, thank you all\"\n\
               c2,could_improve,Poor,Waited over four hours for the ambulance to arrive\n\
               c3,,,\n";
    let (code, json, _) = analyze(&["themes"], csv);
    assert_eq!(code, 0);
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let codes = |row: &serde_json::Value| -> Vec<String> {
        row["categories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["code"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        codes(&rows[0]).contains(&"staff_manner".to_string()),
        "{}",
        rows[0]
    );
    let staff = rows[0]["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "staff_manner")
        .unwrap();
    assert_eq!(staff["major"], "Staff");
    assert_eq!(staff["name"], "Staff manner & personal attributes");
    assert_eq!(rows[0]["sentiment"]["code"], "very_positive");
    assert!(
        codes(&rows[1]).contains(&"timeliness".to_string()),
        "{}",
        rows[1]
    );
    assert!(rows[1]["sentiment"]["score"].as_u64().unwrap() >= 4);
    assert_eq!(codes(&rows[2]), ["labelling_not_possible"]);
    assert!(rows[2]["sentiment"].is_null());
}

#[test]
fn themes_names_the_line_of_bad_input() {
    let (code, _, err) = analyze(&["themes"], "id,text\n1,hello\n");
    assert_eq!(code, 2);
    assert!(err.contains("no column \"comment\""), "{err}");
    let (code, _, err) = analyze(&["themes"], "id,comment,answer\n1,fine,brilliant\n");
    assert_eq!(code, 2);
    assert!(err.contains("line 2: answer \"brilliant\""), "{err}");
    let (code, _, err) = analyze(&["themes"], "id,comment\na,x\na,y\n");
    assert_eq!(code, 2);
    assert!(err.contains("line 3: id \"a\" appears twice"), "{err}");
}
