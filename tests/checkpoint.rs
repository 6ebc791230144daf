//! Checkpoints round-trip exactly; damaged files are errors that name the file and the field.
use koopman::checkpoint::{self, Meta};
use koopman::models::*;
use koopman::synthetic::Oscillator;
use koopman::train::{TrainConfig, Trainer};
use koopman::util::rng::Rng;

fn trained() -> Trainer {
    let sys = Oscillator::default_pair();
    let model = KoopmanModel::new(KoopmanConfig::small(4, 1, 8, 16), 3);
    let mut tr = Trainer::new(Box::new(model), TrainConfig::default());
    let mut rng = Rng::new(0);
    for _ in 0..3 {
        tr.step(&sys.windows(8, 6, &mut rng).view()).unwrap();
    }
    // Parameters and moments live on the trainer's backend until synced.
    tr.sync_host().unwrap();
    tr
}

#[test]
fn round_trip_is_exact_and_resumable() {
    let dir = std::env::temp_dir().join(format!("koopman-ckpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.safetensors");
    let tr = trained();
    let meta = Meta {
        config: tr.model.config(),
        normalization: serde_json::json!({"x": 1}),
        training: serde_json::json!({"steps": 3}),
    };
    checkpoint::save(&path, tr.model.as_ref(), Some(&tr.opt), &meta).unwrap();
    assert!(!checkpoint_tmp_exists(&path));
    let loaded = checkpoint::load(&path).unwrap();
    for ((n1, a), (n2, b)) in tr.model.params().iter().zip(loaded.model.params().iter()) {
        assert_eq!(n1, n2);
        assert_eq!(a, b, "{n1}");
    }
    let koopman::checkpoint::AdamState { m, v, step } = loaded.adam.unwrap();
    assert_eq!(step, 3);
    assert_eq!(&m[..], tr.opt.state().0);
    assert_eq!(&v[..], tr.opt.state().1);
    assert_eq!(loaded.meta.training["steps"], 3);

    // A truncated copy is a clear error naming the file.
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = checkpoint::load(&cut)
        .err()
        .expect("truncated file must fail")
        .to_string();
    assert!(e.contains("cut.safetensors"), "{e}");

    // A config needing more weights than stored is refused before the model is built.
    let mut bigger = meta.clone();
    if let ModelConfig::Koopman(c) = &mut bigger.config {
        c.modes = 9;
    }
    let big = dir.join("bigger.safetensors");
    checkpoint::save(&big, tr.model.as_ref(), None, &bigger).unwrap();
    let e = checkpoint::load(&big).err().expect("must fail").to_string();
    assert!(
        e.contains("bigger.safetensors") && e.contains("koopman.config"),
        "{e}"
    );

    // A checkpoint whose config disagrees with its weights names the tensor.
    let mut other = meta.clone();
    if let ModelConfig::Koopman(c) = &mut other.config {
        c.modes = 7;
    }
    let wrong = dir.join("wrong.safetensors");
    checkpoint::save(&wrong, tr.model.as_ref(), None, &other).unwrap();
    let e = checkpoint::load(&wrong)
        .err()
        .expect("shape mismatch must fail")
        .to_string();
    assert!(
        e.contains("wrong.safetensors") && e.contains("param."),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Whether a temporary file of an atomic write is left in `path`'s folder.
fn checkpoint_tmp_exists(path: &std::path::Path) -> bool {
    std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .any(|e| e.unwrap().file_name().to_string_lossy().ends_with(".tmp"))
}

/// The configuration check that guards `checkpoint::load` never refuses a genuine model: its
/// parameter bound is at most the real count, for every model, preset and a few odd sizes.
#[test]
fn min_param_count_is_a_lower_bound() {
    use koopman::models::ModelKind;
    for kind in ModelKind::ALL {
        for (od, ad) in [(3, 1), (17, 6), (1, 1)] {
            for preset in ["default", "small"] {
                let cfg = koopman::cli::train::preset(kind, preset, od, ad).unwrap();
                let real = cfg.build(0).unwrap().params().count() as u64;
                let bound = cfg.min_param_count().unwrap();
                assert!(
                    bound <= real && bound * 2 >= real,
                    "{kind:?} {preset} {od}/{ad}: bound {bound}, real {real}"
                );
            }
        }
    }
}

/// Wrapped I/O and dataset errors keep their chain (`thiserror` `source()`).
#[test]
fn errors_keep_their_source() {
    use std::error::Error as _;
    let e = checkpoint::load(std::path::Path::new("/no/such/k.safetensors"))
        .err()
        .expect("a missing file must fail");
    assert!(e.to_string().contains("/no/such/k.safetensors"), "{e}");
    let io = e
        .source()
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .expect("an I/O source");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    let e = koopman::Error::from(
        koopman::data::load(std::path::Path::new("/no/such/d.npz")).unwrap_err(),
    );
    assert!(e
        .source()
        .is_some_and(|s| s.is::<koopman::data::DataError>()));
}
