//! Statements built from realistic verdicts all pass the API's rules and serialise with the
//! API's field names; broken ones are refused with the right field named.

use rampart_dsa::{
    to_csv, validate, AutomatedDecision, ContentType, Date, DecidedBy, DsaError, Ground, Keyword,
    Language, ReviewOutcome, Rule, Statement, StatementCategory, StatementInput, YesNo,
    CSV_COLUMNS, MAX_DECISION_FACTS,
};
use rampart_types::{
    self as types, ByteSpan, ContentRef, Evidence, EvidenceKind, LabelVerdict, Suggestion, Trick,
    Verdict,
};

fn ev(kind: EvidenceKind, fill: impl FnOnce(&mut Evidence)) -> Evidence {
    let mut e = Evidence::new(kind);
    fill(&mut e);
    e
}

fn term(term: &str, library: &str, span: (usize, usize), tricks: &[Trick]) -> Evidence {
    ev(EvidenceKind::Term, |e| {
        e.term = Some(term.into());
        e.library = Some(library.into());
        e.span = Some(ByteSpan::new(span.0, span.1));
        e.matched = Some("f\u{200b}ü©k".into());
        e.tricks = tricks.to_vec();
    })
}

fn lv(label: &str, score: f32, suggestion: Suggestion, evidence: Vec<Evidence>) -> LabelVerdict {
    LabelVerdict {
        label: label.parse().unwrap(),
        score,
        suggestion,
        evidence,
    }
}

fn verdict(
    id: &str,
    content_type: types::ContentType,
    client_id: Option<&str>,
    suggestion: Suggestion,
    labels: Vec<LabelVerdict>,
) -> Verdict {
    Verdict {
        id: id.into(),
        content_type,
        content_ref: ContentRef {
            sha256: "ab".repeat(32),
            pdq: None,
            client_id: client_id.map(Into::into),
        },
        suggestion,
        labels,
        policy: "default@3".into(),
        models: vec!["text-linear@1".into()],
        elapsed_ms: 0.21,
    }
}

/// An example text verdict: a blocked profanity term match with its evidence.
fn profanity_text() -> Verdict {
    verdict(
        "01JD3Q8Z5Y4K2M7N9P0R1S2T3V",
        types::ContentType::Text,
        Some("post-123"),
        Suggestion::Block,
        vec![lv(
            "profanity",
            0.99,
            Suggestion::Block,
            vec![term(
                "fuck",
                "builtin:profanity-en",
                (10, 18),
                &[Trick::ZeroWidth, Trick::Diacritic, Trick::Confusable],
            )],
        )],
    )
}

fn bank_image() -> Verdict {
    verdict(
        "01JD3QA0000000000000000001",
        types::ContentType::Image,
        Some("upload_991"),
        Suggestion::Block,
        vec![lv(
            "sexual_minors",
            1.0,
            Suggestion::Block,
            vec![ev(EvidenceKind::Hash, |e| {
                e.bank = Some("ncmec-known".into());
                e.entry_id = Some("E-20931".into());
                e.distance = Some(4);
                e.detail = Some("rotate90".into());
            })],
        )],
    )
}

fn video_with_speech_and_frames() -> Verdict {
    let asr = ev(EvidenceKind::Asr, |e| {
        e.t_start = Some(12.0);
        e.t_end = Some(14.5);
        e.matched = Some("words someone said".into());
        e.evidence = vec![term("behead", "builtin:terrorism-en", (4, 10), &[])];
    });
    let frame = ev(EvidenceKind::Hash, |e| {
        e.bank = Some("gifct".into());
        e.entry_id = Some("h-77".into());
        e.distance = Some(12);
        e.t_start = Some(8.0);
        e.t_end = Some(11.0);
    });
    verdict(
        "01JD3QB0000000000000000002",
        types::ContentType::Video,
        None,
        Suggestion::Block,
        vec![
            lv("terrorism", 1.0, Suggestion::Block, vec![frame, asr]),
            lv(
                "violence",
                0.81,
                Suggestion::Block,
                vec![ev(EvidenceKind::Model, |e| {
                    e.model = Some("video-violence@2".into());
                    e.score = Some(0.81);
                })],
            ),
        ],
    )
}

fn spam_with_contacts() -> Verdict {
    verdict(
        "01JD3QC0000000000000000003",
        types::ContentType::Text,
        Some("comment:55"),
        Suggestion::Review,
        vec![
            lv(
                "spam",
                0.74,
                Suggestion::Review,
                vec![ev(EvidenceKind::Model, |e| {
                    e.model = Some("text-spam@1".into());
                    e.score = Some(0.74);
                })],
            ),
            lv(
                "ads",
                0.7,
                Suggestion::Review,
                vec![
                    ev(EvidenceKind::Url, |e| {
                        e.detail = Some("url".into());
                        e.span = Some(ByteSpan::new(20, 41));
                    }),
                    ev(EvidenceKind::Pii, |e| {
                        e.detail = Some("phone".into());
                        e.span = Some(ByteSpan::new(50, 66));
                        e.matched = Some("+44 20 7946 0018".into());
                    }),
                ],
            ),
        ],
    )
}

fn qr_image_custom_label() -> Verdict {
    verdict(
        "01JD3QD0000000000000000004",
        types::ContentType::Image,
        Some("img-4"),
        Suggestion::Block,
        vec![lv(
            "custom:crypto-scams",
            0.9,
            Suggestion::Block,
            vec![ev(EvidenceKind::Qr, |e| {
                e.evidence = vec![ev(EvidenceKind::Regex, |e| {
                    e.term = Some("re:(?i)double your (btc|eth)".into());
                    e.library = Some("crypto-scams".into());
                    e.span = Some(ByteSpan::new(0, 16));
                })];
            })],
        )],
    )
}

fn date(y: u16, m: u8, d: u8) -> Date {
    Date::ymd(y, m, d).unwrap()
}

/// Every realistic case, as the server would build them.
fn realistic_statements() -> Vec<Statement> {
    let verdicts = [
        profanity_text(),
        bank_image(),
        video_with_speech_and_frames(),
        spam_with_contacts(),
        qr_image_custom_label(),
    ];
    let mut out = Vec::new();
    for v in &verdicts {
        let decided_by = if v.suggestion == Suggestion::Block {
            DecidedBy::Automation
        } else {
            DecidedBy::Moderator {
                outcome: ReviewOutcome::Remove,
                reason: "Unsolicited advertising with contact details.".into(),
            }
        };
        let mut input = StatementInput::new(v, decided_by, date(2025, 7, 14));
        input.content_language = Language::new("en");
        input.reference_url = Some("https://example.com/community-guidelines".into());
        out.push(input.build().unwrap_or_else(|e| panic!("{}: {e}", v.id)));
    }
    // The same video under a law, as a platform might decide for terrorist content.
    let v = video_with_speech_and_frames();
    let mut input = StatementInput::new(&v, DecidedBy::Automation, date(2025, 7, 14));
    input.ground = Ground::Illegal {
        legal_ground: "Regulation (EU) 2021/784 on terrorist content online".into(),
    };
    input.puid = Some("sor-video-2".into());
    out.push(input.build().unwrap());
    out
}

#[test]
fn every_statement_built_from_a_realistic_verdict_validates() {
    for s in realistic_statements() {
        assert_eq!(validate(&s), Ok(()), "{}", s.puid);
    }
}

#[test]
fn the_design_example_becomes_this_statement() {
    let s = &realistic_statements()[0];
    let json = serde_json::to_value(s).unwrap();
    assert_eq!(
        json["decision_visibility"],
        serde_json::json!(["DECISION_VISIBILITY_CONTENT_REMOVED"])
    );
    assert_eq!(
        json["decision_ground"],
        "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    );
    assert_eq!(
        json["incompatible_content_ground"],
        "Moderation policy default@3"
    );
    assert_eq!(json["category"], "STATEMENT_CATEGORY_OTHER_VIOLATION_TC");
    assert_eq!(
        json["content_type"],
        serde_json::json!(["CONTENT_TYPE_TEXT"])
    );
    assert_eq!(json["content_language"], "EN");
    assert_eq!(json["content_date"], "2024-11-20");
    assert_eq!(json["application_date"], "2025-07-14");
    assert_eq!(json["source_type"], "SOURCE_VOLUNTARY");
    assert_eq!(json["automated_detection"], "Yes");
    assert_eq!(json["automated_decision"], "AUTOMATED_DECISION_FULLY");
    assert_eq!(json["puid"], "post-123");
    assert_eq!(json["territorial_scope"].as_array().unwrap().len(), 30);
    assert_eq!(
        s.decision_facts,
        "Automated moderation under policy default@3 blocked this text; no human was involved \
         in the decision. profanity (score 0.99, block): matched term 'fuck' of library \
         'builtin:profanity-en' at bytes 10–18 after removing zero-width characters, removing \
         accents and mapping look-alike letters from other scripts."
    );
    // Absent optional fields are left out, not sent as null.
    for absent in [
        "decision_monetary",
        "illegal_content_legal_ground",
        "category_addition",
        "content_id",
    ] {
        assert!(json.get(absent).is_none(), "{absent} present");
    }
}

#[test]
fn evidence_of_every_medium_reaches_the_facts() {
    let all = realistic_statements();
    let rows: [(usize, &[&str]); 4] = [
        (
            1,
            &["image matched entry E-20931 of hash bank ncmec-known at distance 4 (rotate90)"],
        ),
        (
            2,
            &[
                "frame at 8.0–11.0 s matched entry h-77 of hash bank gifct at distance 12",
                "spoken at 12.0–14.5 s: matched term 'behead' of library 'builtin:terrorism-en'",
                "model video-violence@2 scored 0.81",
            ],
        ),
        (
            3,
            &[
                "Moderator's reason: Unsolicited advertising",
                "found a link at bytes 20–41",
                "found a phone number at bytes 50–66",
            ],
        ),
        (
            4,
            &["QR code: matched rule 're:(?i)double your (btc|eth)' of library 'crypto-scams'"],
        ),
    ];
    for (i, wants) in rows {
        for want in wants {
            assert!(
                all[i].decision_facts.contains(want),
                "{want}\nnot in: {}",
                all[i].decision_facts
            );
        }
    }
    // No personal data: the phone number and the spoken words stay out.
    assert!(!all[3].decision_facts.contains("7946"));
    assert!(!all[2].decision_facts.contains("someone"));
}

#[test]
fn categories_types_and_automation_follow_the_verdict() {
    let all = realistic_statements();
    assert_eq!(all[1].category, StatementCategory::ProtectionOfMinors);
    assert_eq!(
        all[1].category_specification,
        [Keyword::ChildSexualAbuseMaterial]
    );

    assert_eq!(all[2].category, StatementCategory::RiskForPublicSecurity);
    assert_eq!(all[2].category_addition, [StatementCategory::Violence]);
    assert_eq!(
        all[2].content_type,
        [ContentType::Audio, ContentType::Video]
    );

    assert_eq!(all[3].category, StatementCategory::ScamsAndFraud);
    assert_eq!(
        all[3].category_addition,
        [StatementCategory::OtherViolationTc]
    );
    assert_eq!(all[3].automated_decision, AutomatedDecision::NotAutomated);
    assert_eq!(all[3].automated_detection, YesNo::Yes);
    // "comment:55" is no valid PUID, so the verdict id stands in.
    assert_eq!(all[3].puid, "01JD3QC0000000000000000003");

    assert_eq!(all[4].category, StatementCategory::OtherViolationTc);

    let illegal = &all[5];
    assert_eq!(
        illegal.decision_ground.as_str(),
        "DECISION_GROUND_ILLEGAL_CONTENT"
    );
    assert_eq!(
        illegal.illegal_content_explanation.as_deref(),
        Some(
            "The content was found to contain terrorist content and violent content under \
             moderation policy default@3; the facts list the evidence."
        )
    );
    assert_eq!(
        all[4].incompatible_content_explanation.as_deref(),
        Some(
            "The content was found to contain content covered by the platform's rule \
             'crypto-scams' under moderation policy default@3; the facts list the evidence."
        )
    );
    assert!(illegal.incompatible_content_explanation.is_none());
}

#[test]
fn facts_too_long_for_the_api_are_cut_to_5000_characters() {
    let many: Vec<Evidence> = (0..400)
        .map(|i| {
            term(
                &format!("wörd{i}"),
                "tenant-list",
                (i, i + 5),
                &[Trick::Leet],
            )
        })
        .collect();
    let v = verdict(
        "01JD3QE0000000000000000005",
        types::ContentType::Text,
        None,
        Suggestion::Block,
        vec![lv("custom:house", 1.0, Suggestion::Block, many)],
    );
    let s = StatementInput::new(&v, DecidedBy::Automation, date(2025, 7, 14))
        .build()
        .unwrap();
    assert_eq!(s.decision_facts.chars().count(), MAX_DECISION_FACTS);
    assert!(s.decision_facts.ends_with('…'));
    assert_eq!(validate(&s), Ok(()));
}

#[test]
fn broken_statements_are_refused_naming_the_field() {
    type Edit = fn(&mut Statement);
    let rows: Vec<(&str, Edit, &str)> = vec![
        (
            "illegal ground without its legal ground",
            |s| {
                s.decision_ground = rampart_dsa::DecisionGround::IllegalContent;
                s.illegal_content_explanation = Some("why".into());
            },
            "illegal_content_legal_ground",
        ),
        (
            "illegal ground without an explanation",
            |s| {
                s.decision_ground = rampart_dsa::DecisionGround::IllegalContent;
                s.illegal_content_legal_ground = Some("law".into());
            },
            "illegal_content_explanation",
        ),
        (
            "incompatible ground without an explanation",
            |s| s.incompatible_content_explanation = None,
            "incompatible_content_explanation",
        ),
        (
            "no restriction at all",
            |s| s.decision_visibility.clear(),
            "decision_visibility",
        ),
        (
            "facts too long",
            |s| s.decision_facts = "x".repeat(5001),
            "decision_facts",
        ),
        (
            "bad application date",
            |s| s.application_date = "14/07/2025".into(),
            "application_date",
        ),
        (
            "bad content date",
            |s| s.content_date = "2025-7-14".into(),
            "content_date",
        ),
        ("puid with a space", |s| s.puid = "post 123".into(), "puid"),
        ("puid too long", |s| s.puid = "p".repeat(501), "puid"),
    ];
    for (case, edit, field) in rows {
        let mut s = realistic_statements().remove(0);
        edit(&mut s);
        let violations = validate(&s).expect_err(case);
        assert!(
            violations.iter().any(|v| v.field == field),
            "{case}: {violations:?}"
        );
    }
}

#[test]
fn the_builder_refuses_inputs_the_api_would_refuse() {
    let v = profanity_text();
    let mut input = StatementInput::new(&v, DecidedBy::Automation, date(2019, 5, 1));
    input.puid = Some("post:123".into());
    match input.build() {
        Err(DsaError::Invalid(violations)) => {
            let fields: Vec<_> = violations.iter().map(|v| (v.field, &v.rule)).collect();
            assert_eq!(
                fields,
                [
                    (
                        "application_date",
                        &Rule::NotBefore {
                            limit: "2020-01-01".into()
                        }
                    ),
                    ("puid", &Rule::PuidCharacters),
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    let pass = verdict(
        "01JD3QF0000000000000000006",
        types::ContentType::Text,
        None,
        Suggestion::Pass,
        vec![],
    );
    assert!(matches!(
        StatementInput::new(&pass, DecidedBy::Automation, date(2025, 1, 1)).build(),
        Err(DsaError::NothingRestricted { .. })
    ));
}

#[test]
fn statements_round_trip_through_the_api_json() {
    for s in realistic_statements() {
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Statement>(&json).unwrap(), s);
    }
}

#[test]
fn csv_has_the_export_header_and_one_row_per_statement() {
    let all = realistic_statements();
    let mut out = Vec::new();
    to_csv(&all, &mut out).unwrap();
    let mut reader = csv::Reader::from_reader(out.as_slice());
    let header: Vec<String> = reader.headers().unwrap().iter().map(Into::into).collect();
    assert_eq!(header, CSV_COLUMNS);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), all.len());
    let col = |name: &str| CSV_COLUMNS.iter().position(|c| *c == name).unwrap();
    assert_eq!(
        &rows[0][col("decision_visibility")],
        r#"["DECISION_VISIBILITY_CONTENT_REMOVED"]"#
    );
    assert_eq!(
        &rows[2][col("content_type")],
        r#"["CONTENT_TYPE_AUDIO","CONTENT_TYPE_VIDEO"]"#
    );
    assert_eq!(&rows[0][col("category_addition")], "");
    assert_eq!(&rows[0][col("automated_detection")], "Yes");
    assert_eq!(&rows[0][col("puid")], "post-123");
    assert_eq!(&rows[0][col("decision_facts")], all[0].decision_facts);
}
