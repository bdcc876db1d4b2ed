//! The statement of reasons as the DSA Transparency Database API takes it: field names,
//! enumeration values and the small value types (dates, countries, languages).
//!
//! Source of every name and value here: the Transparency Database's own code,
//! <https://github.com/digital-services-act/transparency-database>, read at commit
//! `69e80a0bc8eb3cbfbe8246e898194c3bdf490a4b` (2026-06-24):
//! - `app/Models/Statement.php` (enumerations; last changed in `bf0afeb8`, 2026-06-09),
//! - `app/Services/EuropeanCountriesService.php` (territorial scope codes),
//! - `app/Services/EuropeanLanguagesService.php` (content language codes),
//! - `resources/markdown/api-documentation.md` (field meanings, the API v2 schema in force
//!   since 1 July 2025, which replaced e.g. `STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE`
//!   with `STATEMENT_CATEGORY_OTHER_VIOLATION_TC`).
//!
//! The doc comment of each enumeration value quotes the label the database shows for it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Declares a closed API enumeration: the wire name of each value, [`as_str`](Self::as_str),
/// `ALL` in declaration order, and `Display` as the wire name.
macro_rules! api_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $wire)] $variant, )+
        }

        impl $name {
            /// Every value, in the order the API documentation lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The API's wire value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $wire, )+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

api_enum! {
    /// `decision_visibility`: how the visibility of the content was restricted.
    pub enum DecisionVisibility {
        /// "Removal of content"
        ContentRemoved = "DECISION_VISIBILITY_CONTENT_REMOVED",
        /// "Disabling access to content"
        ContentDisabled = "DECISION_VISIBILITY_CONTENT_DISABLED",
        /// "Demotion of content"
        ContentDemoted = "DECISION_VISIBILITY_CONTENT_DEMOTED",
        /// "Age restricted content"
        ContentAgeRestricted = "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
        /// "Restricting interaction with content"
        ContentInteractionRestricted = "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
        /// "Labelled content"
        ContentLabelled = "DECISION_VISIBILITY_CONTENT_LABELLED",
        /// "Other restriction (please specify)": needs `decision_visibility_other`.
        Other = "DECISION_VISIBILITY_OTHER",
    }
}

api_enum! {
    /// `decision_monetary`: a restriction of monetary payments.
    pub enum DecisionMonetary {
        /// "Suspension of monetary payments"
        Suspension = "DECISION_MONETARY_SUSPENSION",
        /// "Termination of monetary payments"
        Termination = "DECISION_MONETARY_TERMINATION",
        /// "Other restriction (please specify)": needs `decision_monetary_other`.
        Other = "DECISION_MONETARY_OTHER",
    }
}

api_enum! {
    /// `decision_provision`: a suspension or termination of the service.
    pub enum DecisionProvision {
        /// "Partial suspension of the provision of the service"
        PartialSuspension = "DECISION_PROVISION_PARTIAL_SUSPENSION",
        /// "Total suspension of the provision of the service"
        TotalSuspension = "DECISION_PROVISION_TOTAL_SUSPENSION",
        /// "Partial termination of the provision of the service"
        PartialTermination = "DECISION_PROVISION_PARTIAL_TERMINATION",
        /// "Total termination of the provision of the service"
        TotalTermination = "DECISION_PROVISION_TOTAL_TERMINATION",
    }
}

api_enum! {
    /// `decision_account`: a restriction of the account.
    pub enum DecisionAccount {
        /// "Suspension of the account"
        Suspended = "DECISION_ACCOUNT_SUSPENDED",
        /// "Termination of the account"
        Terminated = "DECISION_ACCOUNT_TERMINATED",
    }
}

api_enum! {
    /// `account_type`: whose account posted the content.
    pub enum AccountType {
        /// "Business"
        Business = "ACCOUNT_TYPE_BUSINESS",
        /// "Private"
        Private = "ACCOUNT_TYPE_PRIVATE",
    }
}

api_enum! {
    /// `decision_ground`: illegal content, or content incompatible with the terms and conditions.
    pub enum DecisionGround {
        /// "Illegal Content": needs `illegal_content_legal_ground` and
        /// `illegal_content_explanation`.
        IllegalContent = "DECISION_GROUND_ILLEGAL_CONTENT",
        /// "Content incompatible with terms and conditions": needs `incompatible_content_ground`
        /// and `incompatible_content_explanation`.
        IncompatibleContent = "DECISION_GROUND_INCOMPATIBLE_CONTENT",
    }
}

api_enum! {
    /// `content_type`: what kind of content the decision is about.
    pub enum ContentType {
        /// "App"
        App = "CONTENT_TYPE_APP",
        /// "Audio"
        Audio = "CONTENT_TYPE_AUDIO",
        /// "Image"
        Image = "CONTENT_TYPE_IMAGE",
        /// "Product"
        Product = "CONTENT_TYPE_PRODUCT",
        /// "Synthetic Media"
        SyntheticMedia = "CONTENT_TYPE_SYNTHETIC_MEDIA",
        /// "Text"
        Text = "CONTENT_TYPE_TEXT",
        /// "Video"
        Video = "CONTENT_TYPE_VIDEO",
        /// "Other": needs `content_type_other`.
        Other = "CONTENT_TYPE_OTHER",
    }
}

api_enum! {
    /// `source_type`: what led to the investigation of the content.
    pub enum SourceType {
        /// "Notice submitted in accordance with Article 16 DSA"
        Article16 = "SOURCE_ARTICLE_16",
        /// "Notice submitted by a trusted flagger"
        TrustedFlagger = "SOURCE_TRUSTED_FLAGGER",
        /// "Other type of notification"
        OtherNotification = "SOURCE_TYPE_OTHER_NOTIFICATION",
        /// "Own voluntary initiative": `source_identity` is then ignored by the API.
        Voluntary = "SOURCE_VOLUNTARY",
    }
}

api_enum! {
    /// The API's `"Yes"`/`"No"` answers (`automated_detection`, `incompatible_content_illegal`).
    pub enum YesNo {
        /// "Yes"
        Yes = "Yes",
        /// "No"
        No = "No",
    }
}

api_enum! {
    /// `automated_decision`: how far the decision itself (not the detection) was automated.
    pub enum AutomatedDecision {
        /// "Fully automated": no human took part in deciding.
        Fully = "AUTOMATED_DECISION_FULLY",
        /// "Partially automated": automated means and a human both took part.
        Partially = "AUTOMATED_DECISION_PARTIALLY",
        /// "Not Automated": a human decided without automated means.
        NotAutomated = "AUTOMATED_DECISION_NOT_AUTOMATED",
    }
}

api_enum! {
    /// `category` and `category_addition`: the high-level type of illegality or of
    /// incompatibility with the terms and conditions.
    pub enum StatementCategory {
        /// "Animal welfare"
        AnimalWelfare = "STATEMENT_CATEGORY_ANIMAL_WELFARE",
        /// "Consumer information infringements"
        ConsumerInformation = "STATEMENT_CATEGORY_CONSUMER_INFORMATION",
        /// "Cyber violence"
        CyberViolence = "STATEMENT_CATEGORY_CYBER_VIOLENCE",
        /// "Cyber violence against women"
        CyberViolenceAgainstWomen = "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
        /// "Data protection and privacy violations"
        DataProtectionAndPrivacyViolations = "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
        /// "Illegal or harmful speech"
        IllegalOrHarmfulSpeech = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        /// "Intellectual property infringements"
        IntellectualPropertyInfringements = "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
        /// "Negative effects on civic discourse or elections"
        NegativeEffectsOnCivicDiscourseOrElections = "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
        /// "Type of alleged illegal content not specified by the notifier"
        NotSpecifiedNotice = "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
        /// "Other violation of provider's terms and conditions"
        OtherViolationTc = "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
        /// "Protection of minors"
        ProtectionOfMinors = "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
        /// "Risk for public security"
        RiskForPublicSecurity = "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
        /// "Scams and/or fraud"
        ScamsAndFraud = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        /// "Self-harm"
        SelfHarm = "STATEMENT_CATEGORY_SELF_HARM",
        /// "Unsafe, non-compliant or prohibited products"
        UnsafeAndProhibitedProducts = "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
        /// "Violence"
        Violence = "STATEMENT_CATEGORY_VIOLENCE",
    }
}

api_enum! {
    /// `category_specification`: keywords that narrow the category down.
    pub enum Keyword {
        /// "Adult sexual material"
        AdultSexualMaterial = "KEYWORD_ADULT_SEXUAL_MATERIAL",
        /// "Age-specific restrictions"
        AgeSpecificRestrictions = "KEYWORD_AGE_SPECIFIC_RESTRICTIONS",
        /// "Age-specific restrictions concerning minors"
        AgeSpecificRestrictionsMinors = "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS",
        /// "Animal harm"
        AnimalHarm = "KEYWORD_ANIMAL_HARM",
        /// "Biometric data breach"
        BiometricDataBreach = "KEYWORD_BIOMETRIC_DATA_BREACH",
        /// "Cyber bullying and intimidation against girls"
        BullyingAgainstGirls = "KEYWORD_BULLYING_AGAINST_GIRLS",
        /// "Child sexual abuse material"
        ChildSexualAbuseMaterial = "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
        /// "Child sexual abuse material containing deepfake or similar technology"
        ChildSexualAbuseMaterialDeepfake = "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE",
        /// "Content promoting eating disorders"
        ContentPromotingEatingDisorders = "KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS",
        /// "Coordinated harm"
        CoordinatedHarm = "KEYWORD_COORDINATED_HARM",
        /// "Copyright infringements"
        CopyrightInfringement = "KEYWORD_COPYRIGHT_INFRINGEMENT",
        /// "Cyber bullying and intimidation"
        CyberBullyingIntimidation = "KEYWORD_CYBER_BULLYING_INTIMIDATION",
        /// "Cyber harassment"
        CyberHarassment = "KEYWORD_CYBER_HARASSMENT",
        /// "Cyber harassment against women"
        CyberHarassmentAgainstWomen = "KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN",
        /// "Cyber incitement to hatred or violence"
        CyberIncitement = "KEYWORD_CYBER_INCITEMENT",
        /// "Cyber stalking"
        CyberStalking = "KEYWORD_CYBER_STALKING",
        /// "Cyber stalking against women"
        CyberStalkingAgainstWomen = "KEYWORD_CYBER_STALKING_AGAINST_WOMEN",
        /// "Data falsification"
        DataFalsification = "KEYWORD_DATA_FALSIFICATION",
        /// "Defamation"
        Defamation = "KEYWORD_DEFAMATION",
        /// "Design infringements"
        DesignInfringement = "KEYWORD_DESIGN_INFRINGEMENT",
        /// "Discrimination"
        Discrimination = "KEYWORD_DISCRIMINATION",
        /// "Gendered disinformation"
        FemaleGenderedDisinformation = "KEYWORD_FEMALE_GENDERED_DISINFORMATION",
        /// "Geographic indications infringements"
        GeographicIndicationsInfringement = "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT",
        /// "Geographical requirements"
        GeographicalRequirements = "KEYWORD_GEOGRAPHICAL_REQUIREMENTS",
        /// "Goods/services not permitted to be offered on the platform"
        GoodsServicesNotPermitted = "KEYWORD_GOODS_SERVICES_NOT_PERMITTED",
        /// "Grooming/sexual enticement of minors"
        GroomingSexualEnticementMinors = "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",
        /// "Illegal incitement to violence and hatred based on protected characteristics (hate
        /// speech)"
        HateSpeech = "KEYWORD_HATE_SPEECH",
        /// "Hidden advertisement or commercial communication, including by influencers"
        HiddenAdvertisement = "KEYWORD_HIDDEN_ADVERTISEMENT",
        /// "Human exploitation"
        HumanExploitation = "KEYWORD_HUMAN_EXPLOITATION",
        /// "Human trafficking"
        HumanTrafficking = "KEYWORD_HUMAN_TRAFFICKING",
        /// "Illegal organizations"
        IllegalOrganizations = "KEYWORD_ILLEGAL_ORGANIZATIONS",
        /// "Impersonation or account hijacking"
        ImpersonationAccountHijacking = "KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING",
        /// "Inauthentic accounts"
        InauthenticAccounts = "KEYWORD_INAUTHENTIC_ACCOUNTS",
        /// "Inauthentic listings"
        InauthenticListings = "KEYWORD_INAUTHENTIC_LISTINGS",
        /// "Inauthentic user reviews"
        InauthenticUserReviews = "KEYWORD_INAUTHENTIC_USER_REVIEWS",
        /// "Illegal incitement to violence and hatred against women"
        IncitementAgainstWomen = "KEYWORD_INCITEMENT_AGAINST_WOMEN",
        /// "General calls or incitement to violence and/or hatred"
        IncitementViolenceHatred = "KEYWORD_INCITEMENT_VIOLENCE_HATRED",
        /// "Insufficient information on traders"
        InsufficientInformationOnTraders = "KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS",
        /// "Language requirements"
        LanguageRequirements = "KEYWORD_LANGUAGE_REQUIREMENTS",
        /// "Misinformation, disinformation, foreign information manipulation and interference"
        MisinformationDisinformation = "KEYWORD_MISINFORMATION_DISINFORMATION",
        /// "Misleading information about the consumer's rights"
        MisleadingInfoConsumerRights = "KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS",
        /// "Misleading information about the characteristics of the goods and services"
        MisleadingInfoGoodsServices = "KEYWORD_MISLEADING_INFO_GOODS_SERVICES",
        /// "Missing processing ground for data"
        MissingProcessingGround = "KEYWORD_MISSING_PROCESSING_GROUND",
        /// "Non-consensual (intimate) material sharing, including (image-based) sexual abuse
        /// (excluding content depicting minors)"
        NonConsensualImageSharing = "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING",
        /// "Non-consensual (intimate) material sharing against women, including (image-based)
        /// sexual abuse against women (excluding content depicting minors)"
        NonConsensualImageSharingAgainstWomen = "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN",
        /// "Non-consensual sharing of material containing deepfake or similar technology using a
        /// third party's features (excluding content depicting minors)"
        NonConsensualMaterialDeepfake = "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE",
        /// "Non-consensual sharing of material containing deepfake or similar technology using a
        /// third party's features against women (excluding content depicting minors)"
        NonConsensualMaterialDeepfakeAgainstWomen = "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN",
        /// "Non-compliance with pricing regulations"
        NoncompliancePricing = "KEYWORD_NONCOMPLIANCE_PRICING",
        /// "Nudity"
        Nudity = "KEYWORD_NUDITY",
        /// "Patent infringements"
        PatentInfringement = "KEYWORD_PATENT_INFRINGEMENT",
        /// "Phishing"
        Phishing = "KEYWORD_PHISHING",
        /// "Prohibited or restricted products"
        ProhibitedProducts = "KEYWORD_PROHIBITED_PRODUCTS",
        /// "Pyramid schemes"
        PyramidSchemes = "KEYWORD_PYRAMID_SCHEMES",
        /// "Right to be forgotten"
        RightToBeForgotten = "KEYWORD_RIGHT_TO_BE_FORGOTTEN",
        /// "Risk for environmental damage"
        RiskEnvironmentalDamage = "KEYWORD_RISK_ENVIRONMENTAL_DAMAGE",
        /// "Risk for public health"
        RiskPublicHealth = "KEYWORD_RISK_PUBLIC_HEALTH",
        /// "Self-mutilation"
        SelfMutilation = "KEYWORD_SELF_MUTILATION",
        /// "Stalking"
        Stalking = "KEYWORD_STALKING",
        /// "Suicide"
        Suicide = "KEYWORD_SUICIDE",
        /// "Terrorist content"
        TerroristContent = "KEYWORD_TERRORIST_CONTENT",
        /// "Trade secret infringements"
        TradeSecretInfringement = "KEYWORD_TRADE_SECRET_INFRINGEMENT",
        /// "Trademark infringements"
        TrademarkInfringement = "KEYWORD_TRADEMARK_INFRINGEMENT",
        /// "Trafficking in women and girls"
        TraffickingWomenGirls = "KEYWORD_TRAFFICKING_WOMEN_GIRLS",
        /// "Unlawful sale of animals"
        UnlawfulSaleAnimals = "KEYWORD_UNLAWFUL_SALE_ANIMALS",
        /// "Unsafe challenges"
        UnsafeChallenges = "KEYWORD_UNSAFE_CHALLENGES",
        /// "Unsafe or non-compliant products"
        UnsafeProducts = "KEYWORD_UNSAFE_PRODUCTS",
        /// "Violation of EU law relevant to civic discourse or elections"
        ViolationEuLaw = "KEYWORD_VIOLATION_EU_LAW",
        /// "Violation of national law relevant to civic discourse or elections"
        ViolationNationalLaw = "KEYWORD_VIOLATION_NATIONAL_LAW",
        /// "Not captured by any other keyword": explain in `category_specification_other`.
        Other = "KEYWORD_OTHER",
    }
}

api_enum! {
    /// `territorial_scope`: an EU or EEA country, by its ISO 3166-1 alpha-2 code.
    pub enum Country {
        /// Austria
        At = "AT",
        /// Belgium
        Be = "BE",
        /// Bulgaria
        Bg = "BG",
        /// Cyprus
        Cy = "CY",
        /// Czechia
        Cz = "CZ",
        /// Germany
        De = "DE",
        /// Denmark
        Dk = "DK",
        /// Estonia
        Ee = "EE",
        /// Spain
        Es = "ES",
        /// Finland
        Fi = "FI",
        /// France
        Fr = "FR",
        /// Greece (the API uses `GR`, not the EU's `EL`)
        Gr = "GR",
        /// Croatia
        Hr = "HR",
        /// Hungary
        Hu = "HU",
        /// Ireland
        Ie = "IE",
        /// Iceland (EEA)
        Is = "IS",
        /// Italy
        It = "IT",
        /// Liechtenstein (EEA)
        Li = "LI",
        /// Lithuania
        Lt = "LT",
        /// Luxembourg
        Lu = "LU",
        /// Latvia
        Lv = "LV",
        /// Malta
        Mt = "MT",
        /// Netherlands
        Nl = "NL",
        /// Norway (EEA)
        No = "NO",
        /// Poland
        Pl = "PL",
        /// Portugal
        Pt = "PT",
        /// Romania
        Ro = "RO",
        /// Sweden
        Se = "SE",
        /// Slovenia
        Si = "SI",
        /// Slovakia
        Sk = "SK",
    }
}

impl Country {
    /// The whole European Economic Area: every country the API accepts.
    pub const EEA: &'static [Country] = Country::ALL;

    /// The 27 EU member states (the EEA without Iceland, Liechtenstein and Norway).
    pub fn eu() -> Vec<Country> {
        Country::ALL
            .iter()
            .copied()
            .filter(|c| !matches!(c, Country::Is | Country::Li | Country::No))
            .collect()
    }
}

/// The ISO 639-1 codes the API accepts for `content_language`, upper case
/// (`EuropeanLanguagesService::ALL_LANGUAGES`).
pub const LANGUAGE_CODES: [&str; 184] = [
    "AB", "AA", "AF", "AK", "SQ", "AM", "AR", "AN", "HY", "AS", "AV", "AE", "AY", "AZ", "BM", "BA",
    "EU", "BE", "BN", "BH", "BI", "BS", "BR", "BG", "MY", "CA", "KM", "CH", "CE", "NY", "ZH", "CU",
    "CV", "KW", "CO", "CR", "HR", "CS", "DA", "DV", "NL", "DZ", "EN", "EO", "ET", "EE", "FO", "FJ",
    "FI", "FR", "FF", "GD", "GL", "LG", "KA", "DE", "KI", "EL", "KL", "GN", "GU", "HT", "HA", "HE",
    "HZ", "HI", "HO", "HU", "IS", "IO", "IG", "ID", "IA", "IE", "IU", "IK", "GA", "IT", "JA", "JV",
    "KN", "KR", "KS", "KK", "RW", "KV", "KG", "KO", "KJ", "KU", "KY", "LO", "LA", "LV", "LB", "LI",
    "LN", "LT", "LU", "MK", "MG", "MS", "ML", "MT", "GV", "MI", "MR", "MH", "RO", "MN", "NA", "NV",
    "ND", "NG", "NE", "SE", "NO", "NB", "NN", "II", "OC", "OJ", "OR", "OM", "OS", "PI", "PA", "PS",
    "FA", "PL", "PT", "QU", "RM", "RN", "RU", "SM", "SG", "SA", "SC", "SR", "SN", "SD", "SI", "SK",
    "SL", "SO", "ST", "NR", "ES", "SU", "SW", "SS", "SV", "TL", "TY", "TG", "TA", "TT", "TE", "TH",
    "BO", "TI", "TO", "TS", "TN", "TR", "TK", "TW", "UG", "UK", "UR", "UZ", "VE", "VI", "VO", "WA",
    "CY", "FY", "WO", "XH", "YI", "YO", "ZA", "ZU",
];

/// `content_language`: an upper-case ISO 639-1 code such as `EN`.
///
/// [`Language::new`] only makes codes the API accepts; a value read from JSON is checked by
/// [`validate`](crate::validate).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Language(String);

impl Language {
    /// The language with this ISO 639-1 code, in either case (`en`, `EN`), if the API knows it.
    pub fn new(code: &str) -> Option<Language> {
        let upper = code.to_ascii_uppercase();
        LANGUAGE_CODES
            .contains(&upper.as_str())
            .then_some(Language(upper))
    }

    /// The wire value, e.g. `EN`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the API accepts this code.
    pub fn is_known(&self) -> bool {
        LANGUAGE_CODES.contains(&self.0.as_str())
    }
}

/// A calendar date in the API's `YYYY-MM-DD` form (PHP `date_format:Y-m-d`).
///
/// [`Date::ymd`] always makes a well-formed date; text taken as is ([`From<&str>`]) is checked
/// by [`validate`](crate::validate), which names the field when it is malformed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Date(String);

impl Date {
    /// The date `year-month-day`, if it exists in the proleptic Gregorian calendar.
    pub fn ymd(year: u16, month: u8, day: u8) -> Option<Date> {
        let month_ = time::Month::try_from(month).ok()?;
        (year <= 9999 && time::Date::from_calendar_date(i32::from(year), month_, day).is_ok())
            .then(|| Date(format!("{year:04}-{month:02}-{day:02}")))
    }

    /// The UTC date `days` days after 1970-01-01 (negative: before).
    pub fn from_unix_days(days: i64) -> Option<Date> {
        let date = time::Date::from_julian_day(
            i32::try_from(days.checked_add(i64::from(UNIX_EPOCH_JULIAN_DAY))?).ok()?,
        )
        .ok()?;
        Date::ymd(
            u16::try_from(date.year()).ok()?,
            date.month().into(),
            date.day(),
        )
    }

    /// The text as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `(year, month, day)` when the text is exactly `YYYY-MM-DD` and names a real day.
    pub fn parts(&self) -> Option<(u16, u8, u8)> {
        let b = self.0.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let digits = |r: std::ops::Range<usize>| -> Option<u16> {
            let s = &self.0[r];
            s.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| s.parse().ok())?
        };
        let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
        let (m, d) = (u8::try_from(m).ok()?, u8::try_from(d).ok()?);
        Date::ymd(y, m, d).map(|_| (y, m, d))
    }
}

impl From<&str> for Date {
    fn from(text: &str) -> Self {
        Date(text.to_owned())
    }
}

impl From<String> for Date {
    fn from(text: String) -> Self {
        Date(text)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i32 = time::macros::date!(1970 - 01 - 01).to_julian_day();

/// `content_id`: identifiers of the content in other systems. The API knows one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ContentId {
    /// A product's EAN-13 code: exactly 13 digits.
    #[serde(rename = "EAN-13", default, skip_serializing_if = "Option::is_none")]
    pub ean_13: Option<String>,
}

/// One statement of reasons, exactly as `POST /api/v1/statement` of the DSA Transparency
/// Database takes it: snake_case field names, enumeration keys as values, absent optional
/// fields left out of the JSON.
///
/// Build one from a verdict with [`StatementInput`](crate::StatementInput); check one from
/// elsewhere with [`validate`](crate::validate). Field order follows the database's CSV export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// Visibility restrictions; at least one of the four `decision_*` restrictions is required.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decision_visibility: Vec<DecisionVisibility>,
    /// What the other visibility restriction was (≤ 500 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_visibility_other: Option<String>,
    /// When the visibility restriction ends; absent for indefinite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date_visibility_restriction: Option<Date>,

    /// Monetary restriction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_monetary: Option<DecisionMonetary>,
    /// What the other monetary restriction was (≤ 500 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_monetary_other: Option<String>,
    /// When the monetary restriction ends; absent for indefinite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date_monetary_restriction: Option<Date>,

    /// Service restriction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_provision: Option<DecisionProvision>,
    /// When the service restriction ends; absent for indefinite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date_service_restriction: Option<Date>,

    /// Account restriction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_account: Option<DecisionAccount>,
    /// When the account restriction ends; absent for indefinite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date_account_restriction: Option<Date>,

    /// Whose account posted the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_type: Option<AccountType>,

    /// Illegal content, or content incompatible with the terms and conditions.
    pub decision_ground: DecisionGround,
    /// URL of the terms or law relied on (≤ 500 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_ground_reference_url: Option<String>,

    /// The legal ground relied on (≤ 500 characters); required for illegal content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub illegal_content_legal_ground: Option<String>,
    /// Why the content is illegal on that ground (≤ 2000 characters); required for illegal
    /// content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub illegal_content_explanation: Option<String>,
    /// The contractual ground relied on (≤ 500 characters); required for incompatible content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incompatible_content_ground: Option<String>,
    /// Why the content is incompatible on that ground (≤ 2000 characters); required for
    /// incompatible content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incompatible_content_explanation: Option<String>,
    /// Whether incompatible content is also considered illegal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incompatible_content_illegal: Option<YesNo>,

    /// The main category.
    pub category: StatementCategory,
    /// Further categories.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub category_addition: Vec<StatementCategory>,
    /// Keywords narrowing the categories down.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub category_specification: Vec<Keyword>,
    /// A keyword of the platform's own (≤ 500 characters), with [`Keyword::Other`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_specification_other: Option<String>,

    /// What kind of content it is; at least one.
    pub content_type: Vec<ContentType>,
    /// What the other content type is (≤ 500 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type_other: Option<String>,
    /// The language of the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<Language>,
    /// When the content was posted or uploaded (2000-01-01 to 2038-01-01).
    pub content_date: Date,
    /// Identifiers of the content elsewhere (EAN-13 for products).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_id: Option<ContentId>,

    /// Where the restriction applies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub territorial_scope: Vec<Country>,

    /// When the decision took effect (2020-01-01 to 2038-01-01).
    pub application_date: Date,

    /// The facts and circumstances relied on (≤ 5000 characters). No personal data: Art. 24(5).
    pub decision_facts: String,

    /// What led to the investigation.
    pub source_type: SourceType,
    /// Who notified (≤ 500 characters); ignored for [`SourceType::Voluntary`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,

    /// Whether automated means detected the content.
    pub automated_detection: YesNo,
    /// How far the decision was automated.
    pub automated_decision: AutomatedDecision,

    /// The platform's unique id for this statement: 1–500 of `[A-Za-z0-9_-]`, never reused.
    pub puid: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enumerations_serialise_as_the_api_keys() {
        let rows: &[(String, &str)] = &[
            (
                serde_json::to_string(&DecisionVisibility::ContentRemoved).unwrap(),
                "\"DECISION_VISIBILITY_CONTENT_REMOVED\"",
            ),
            (
                serde_json::to_string(&AutomatedDecision::NotAutomated).unwrap(),
                "\"AUTOMATED_DECISION_NOT_AUTOMATED\"",
            ),
            (
                serde_json::to_string(&StatementCategory::OtherViolationTc).unwrap(),
                "\"STATEMENT_CATEGORY_OTHER_VIOLATION_TC\"",
            ),
            (serde_json::to_string(&YesNo::Yes).unwrap(), "\"Yes\""),
            (serde_json::to_string(&Country::Gr).unwrap(), "\"GR\""),
            (
                serde_json::to_string(&SourceType::OtherNotification).unwrap(),
                "\"SOURCE_TYPE_OTHER_NOTIFICATION\"",
            ),
        ];
        for (got, want) in rows {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn every_wire_value_round_trips_and_matches_as_str() {
        for k in Keyword::ALL {
            let json = serde_json::to_string(k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert_eq!(serde_json::from_str::<Keyword>(&json).unwrap(), *k);
        }
        for c in StatementCategory::ALL {
            let json = serde_json::to_string(c).unwrap();
            assert_eq!(
                serde_json::from_str::<StatementCategory>(&json).unwrap(),
                *c
            );
        }
    }

    #[test]
    fn the_enumerations_have_the_sizes_of_the_api() {
        assert_eq!(DecisionVisibility::ALL.len(), 7);
        assert_eq!(DecisionMonetary::ALL.len(), 3);
        assert_eq!(DecisionProvision::ALL.len(), 4);
        assert_eq!(DecisionAccount::ALL.len(), 2);
        assert_eq!(ContentType::ALL.len(), 8);
        assert_eq!(SourceType::ALL.len(), 4);
        assert_eq!(AutomatedDecision::ALL.len(), 3);
        assert_eq!(StatementCategory::ALL.len(), 16);
        assert_eq!(Keyword::ALL.len(), 69);
        assert_eq!(Country::EEA.len(), 30);
        assert_eq!(Country::eu().len(), 27);
    }

    #[test]
    fn withdrawn_v1_values_are_refused() {
        for old in [
            "\"STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE\"",
            "\"STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT\"",
        ] {
            assert!(serde_json::from_str::<StatementCategory>(old).is_err());
        }
        assert!(serde_json::from_str::<Keyword>("\"KEYWORD_DISINFORMATION\"").is_err());
    }

    type Ymd = Option<(u16, u8, u8)>;

    #[test]
    fn dates_parse_only_real_days_in_yyyy_mm_dd() {
        let rows: &[(&str, Ymd)] = &[
            ("2024-02-29", Some((2024, 2, 29))),
            ("2023-02-29", None),
            ("2024-13-01", None),
            ("2024-1-01", None),
            ("2024/01/01", None),
            ("24-01-01", None),
            ("2024-01-01T00:00:00", None),
            ("+202-01-01", None),
            ("", None),
        ];
        for (text, want) in rows {
            assert_eq!(Date::from(*text).parts(), *want, "{text}");
        }
    }

    #[test]
    fn unix_days_become_calendar_dates() {
        let rows = [
            (0, "1970-01-01"),
            (19_782, "2024-02-29"),
            (20_089, "2025-01-01"),
        ];
        for (days, want) in rows {
            assert_eq!(Date::from_unix_days(days).unwrap().as_str(), want);
        }
    }

    #[test]
    fn languages_are_upper_case_iso_639_1_codes() {
        assert_eq!(Language::new("en").unwrap().as_str(), "EN");
        assert!(Language::new("xx").is_none());
        assert!(Language::new("eng").is_none());
    }
}
