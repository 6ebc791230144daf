//! Offline dataset loading, writing, splitting and windowing (`koopman::data`).

use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

#[cfg(feature = "hdf5")]
use koopman::data::hdf5;
use koopman::data::npy::NpyArray;
use koopman::data::{
    self, npz, split_episodes, train_test_split, DataError, Dataset, Frames, Normalizer,
    WindowSampler,
};
use koopman::util::rng::Rng;

/// The fixtures each file-level test runs on (the HDF5 one only with the `hdf5` feature).
const FIXTURES: &[&str] = &[
    "d4rl_tiny.npz",
    #[cfg(feature = "hdf5")]
    "d4rl_tiny.hdf5",
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A per-test scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("koopman-data-{}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Bit-exact equality (so -0.0 vs 0.0 or NaN payloads would not slip through).
fn assert_same(a: &Dataset, b: &Dataset) {
    assert_eq!(
        (a.obs_dim, a.act_dim, a.len()),
        (b.obs_dim, b.act_dim, b.len())
    );
    assert_eq!(bits(&a.observations), bits(&b.observations));
    assert_eq!(bits(&a.actions), bits(&b.actions));
    assert_eq!(bits(&a.rewards), bits(&b.rewards));
    assert_eq!(
        a.next_observations.as_deref().map(bits),
        b.next_observations.as_deref().map(bits)
    );
    assert_eq!(a.terminals, b.terminals);
    assert_eq!(a.timeouts, b.timeouts);
    assert_eq!(a.pixels, b.pixels);
}

/// The `name v1 v2 ...` lines written by `scripts/make_hdf5_fixture.py`.
fn expected(name: &str) -> Vec<String> {
    let text = fs::read_to_string(fixture("d4rl_tiny_expected.txt")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in expected values"))
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn expected_f32(name: &str) -> Vec<f32> {
    expected(name).iter().map(|s| s.parse().unwrap()).collect()
}

fn expected_usize(name: &str) -> Vec<usize> {
    expected(name).iter().map(|s| s.parse().unwrap()).collect()
}

/// Asserts `result` is an error whose message names the file and the field.
fn assert_err_names<T: std::fmt::Debug>(result: Result<T, DataError>, file: &Path, field: &str) {
    let err = result.expect_err("expected an error");
    let msg = err.to_string();
    let name = file.file_name().unwrap().to_str().unwrap();
    assert!(msg.contains(name), "message lacks file {name}: {msg}");
    assert!(msg.contains(field), "message lacks field {field}: {msg}");
}

// ---------- fixtures ----------

#[cfg(feature = "hdf5")]
#[test]
fn hdf5_fixture_equals_npz_fixture() {
    let h5 = data::load(&fixture("d4rl_tiny.hdf5")).unwrap();
    let np = data::load(&fixture("d4rl_tiny.npz")).unwrap();
    assert_same(&h5, &np);

    // Same data without next_observations and with float64 rewards.
    let mut nonext = data::load(&fixture("d4rl_tiny_nonext.hdf5")).unwrap();
    assert!(nonext.next_observations.is_none());
    nonext.next_observations = np.next_observations.clone();
    assert_same(&nonext, &np);
}

#[test]
fn npz_fixture_matches_expected_values() {
    let np = data::load(&fixture("d4rl_tiny.npz")).unwrap();
    assert_eq!(np.len(), expected_usize("n")[0]);
    assert_eq!(np.obs_dim, expected_usize("obs_dim")[0]);
    assert_eq!(np.act_dim, expected_usize("act_dim")[0]);
    assert_eq!(np.observation(0), expected_f32("obs_row0").as_slice());
    assert_eq!(
        np.action(np.len() - 1),
        expected_f32("actions_last").as_slice()
    );
    assert_eq!(&np.rewards[..5], expected_f32("rewards_first5").as_slice());
    let sum: f64 = np.observations.iter().map(|&x| f64::from(x)).sum();
    let want: f64 = expected("obs_sum")[0].parse().unwrap();
    assert!(
        (sum - want).abs() < 1e-9 * want.abs().max(1.0),
        "{sum} vs {want}"
    );

    let bounds = expected_usize("episodes");
    let want: Vec<Range<usize>> = bounds.chunks(2).map(|c| c[0]..c[1]).collect();
    assert_eq!(np.episodes(), want);
    let flagged = |flags: &[bool]| -> Vec<usize> {
        flags
            .iter()
            .enumerate()
            .filter(|(_, &f)| f)
            .map(|(i, _)| i)
            .collect()
    };
    assert_eq!(flagged(&np.terminals), expected_usize("terminal_rows"));
    assert_eq!(flagged(&np.timeouts), expected_usize("timeout_rows"));
}

#[test]
fn npz_round_trip_is_exact() {
    let dir = Scratch::new("roundtrip");
    let ds = data::load(&fixture("d4rl_tiny.npz")).unwrap();
    let out = dir.path("copy.npz");
    npz::write(&out, &ds).unwrap();
    let back = data::load(&out).unwrap();
    assert_same(&ds, &back);
    // Writing what we read gives the same bytes (no timestamps; deterministic deflate).
    let again = dir.path("again.npz");
    npz::write(&again, &back).unwrap();
    assert_eq!(fs::read(&out).unwrap(), fs::read(&again).unwrap());
    assert!(!dir.path("copy.npz.tmp").exists());

    // Without next_observations, and with an extra episode end.
    let mut ds = ds;
    ds.next_observations = None;
    ds.terminals[3] = true;
    let out = dir.path("nonext.npz");
    npz::write(&out, &ds).unwrap();
    assert_same(&ds, &data::load(&out).unwrap());
}

/// Distinct bytes per row, channel and position, so a transposed or shifted frame shows.
fn frames(n: usize, (h, w, c): (usize, usize, usize)) -> Frames {
    Frames {
        data: (0..n * h * w * c).map(|i| (i * 7 % 251) as u8).collect(),
        height: h,
        width: w,
        channels: c,
    }
}

#[test]
fn pixels_round_trip_as_uint8_nhwc() {
    let dir = Scratch::new("pixels");
    let mut ds = data::load(&fixture("d4rl_tiny.npz")).unwrap();
    assert!(ds.pixels.is_none());
    let n = ds.len();
    ds.pixels = Some(frames(n, (6, 5, 3)));
    let out = dir.path("pixels.npz");
    npz::write(&out, &ds).unwrap();
    let back = data::load(&out).unwrap();
    assert_same(&ds, &back);
    let states = data::load_states(&out).unwrap();
    assert!(states.pixels.is_none());
    assert_same(
        &Dataset {
            pixels: None,
            ..ds.clone()
        },
        &states,
    );
    let p = back.pixels.as_ref().unwrap();
    assert_eq!((p.len(), p.frame(n - 1).len()), (n, 6 * 5 * 3));
    assert!(p.frame(n).is_empty());
    let arrays = npz::read_arrays(&out).unwrap();
    let (_, raw) = arrays.iter().find(|(k, _)| k == "pixels").unwrap();
    assert_eq!(
        (raw.descr.as_str(), raw.shape.as_slice()),
        ("|u1", &[n, 6, 5, 3][..])
    );

    // A frame count that is not the row count, a float array and a flat array are refused.
    ds.pixels = Some(frames(n - 1, (6, 5, 3)));
    assert_err_names(ds.validate("mem.npz"), Path::new("mem.npz"), "pixels");
    assert_err_names(npz::write(&out, &ds), &out, "pixels");
    ds.pixels = Some(frames(n, (6, 0, 3)));
    assert_err_names(ds.validate("mem.npz"), Path::new("mem.npz"), "pixels");
    let mut arrays = fixture_arrays();
    arrays.push((
        "pixels",
        NpyArray::from_f32(vec![n, 2, 2, 1], &vec![0.0; n * 4]),
    ));
    let path = write_variant(&dir, "float_pixels.npz", arrays);
    assert_err_names(data::load(&path), &path, "pixels");
    // The state-only loader never decodes the member, so training on such a file still works.
    let states = data::load_states(&path).unwrap();
    assert!(states.pixels.is_none());
    assert_eq!(bits(&states.observations), bits(&ds.observations));
    let mut arrays = fixture_arrays();
    arrays.push(("pixels", NpyArray::from_u8(vec![n, 12], &vec![0; n * 12])));
    let path = write_variant(&dir, "flat_pixels.npz", arrays);
    assert_err_names(data::load(&path), &path, "pixels");
}

#[cfg(feature = "hdf5")]
#[test]
fn hdf5_import_round_trips_through_npz() {
    let dir = Scratch::new("h5roundtrip");
    let h5 = hdf5::read(&fixture("d4rl_tiny_nonext.hdf5")).unwrap();
    let out = dir.path("from_h5.npz");
    npz::write(&out, &h5).unwrap();
    assert_same(&h5, &data::load(&out).unwrap());
}

#[test]
fn every_npz_member_is_listed() {
    let arrays = npz::read_arrays(&fixture("d4rl_tiny.npz")).unwrap();
    let mut keys: Vec<&str> = arrays.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "actions",
            "next_observations",
            "observations",
            "rewards",
            "terminals",
            "timeouts"
        ]
    );
    let (_, terminals) = arrays.iter().find(|(k, _)| k == "terminals").unwrap();
    assert_eq!(terminals.descr, "|b1");
}

// ---------- episodes, split, windows ----------

/// Episodes of the given lengths; observation row = [episode id, step, 0.5], action =
/// [episode id, step], reward = 1000·episode + step, so any mixing is visible.
fn tagged(lengths: &[usize], with_next: bool) -> Dataset {
    let mut ds = Dataset {
        obs_dim: 3,
        act_dim: 2,
        ..Dataset::default()
    };
    let mut next = Vec::new();
    for (e, &len) in lengths.iter().enumerate() {
        for k in 0..len {
            ds.observations
                .extend_from_slice(&[e as f32, k as f32, 0.5]);
            next.extend_from_slice(&[e as f32, (k + 1) as f32, 0.5]);
            ds.actions.extend_from_slice(&[e as f32, k as f32]);
            ds.rewards.push((1000 * e + k) as f32);
            let last = k + 1 == len;
            // Alternate the flag that closes episodes; the final episode closes by the end.
            ds.terminals
                .push(last && e % 2 == 0 && e + 1 < lengths.len());
            ds.timeouts
                .push(last && e % 2 == 1 && e + 1 < lengths.len());
        }
    }
    if with_next {
        ds.next_observations = Some(next);
    }
    ds
}

#[test]
fn episodes_close_on_terminal_timeout_and_end() {
    let ds = tagged(&[3, 1, 4, 2], false);
    assert_eq!(ds.episodes(), vec![0..3, 3..4, 4..8, 8..10]);
    assert!(!ds.terminals[9] && !ds.timeouts[9]);
    assert!(Dataset::default().episodes().is_empty());
}

/// medium + expert = medium-expert: rows in order, every seam closes an episode (the first part's
/// open last episode becomes a timeout), arrays only some parts have are dropped and named, and
/// mismatched widths name the file and the key.
#[test]
fn concat_keeps_episodes_apart_and_names_what_does_not_fit() {
    use koopman::data::dataset::concat;
    let (a, b) = (tagged(&[3, 2], true), tagged(&[4], true));
    let cat = concat(&[("a.npz", &a), ("b.npz", &b)]).unwrap();
    let d = &cat.data;
    assert_eq!(d.len(), 9);
    assert_eq!(d.episodes(), vec![0..3, 3..5, 5..9]);
    assert!(
        d.timeouts[4] && !d.terminals[4],
        "the open episode of a.npz is cut by a timeout"
    );
    assert!(!a.timeouts[4], "the parts are not changed");
    assert!(!d.timeouts[8], "the last part ends as it ended");
    let one = concat(&[("a.npz", &a)]).unwrap().data;
    assert_eq!(
        (one.timeouts, one.terminals),
        (a.timeouts.clone(), a.terminals.clone())
    );
    assert_eq!(d.rewards[3..6], [1000.0, 1001.0, 0.0]);
    assert_eq!(d.observations[5 * 3..6 * 3], [0.0, 0.0, 0.5]);
    assert_eq!(d.next_observations.as_ref().unwrap().len(), 27);
    assert!(cat.dropped.is_empty());
    d.validate("cat").unwrap();

    let c = tagged(&[2], false);
    let cat = concat(&[("a.npz", &a), ("c.npz", &c)]).unwrap();
    assert_eq!(cat.dropped, ["next_observations"]);
    assert!(cat.data.next_observations.is_none());

    let mut wide = tagged(&[2], true);
    wide.obs_dim = 4;
    wide.observations = vec![0.0; 8];
    let e = concat(&[("a.npz", &a), ("wide.npz", &wide)])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("wide.npz") && e.contains("observations") && e.contains("a.npz"),
        "{e}"
    );
    assert!(concat(&[]).is_err());
}

#[test]
fn split_is_by_episode_and_deterministic() {
    let lengths: Vec<usize> = (0..10).map(|i| 5 + 3 * i).collect();
    let ds = tagged(&lengths, false);
    let episodes = ds.episodes();
    let a = train_test_split(&ds, 7);
    let b = train_test_split(&ds, 7);
    assert_eq!(a, b);
    assert_eq!((a.train.len(), a.test.len()), (8, 2));
    let mut all: Vec<Range<usize>> = a.train.iter().chain(&a.test).cloned().collect();
    all.sort_by_key(|r| r.start);
    assert_eq!(all, episodes, "every episode on exactly one side, whole");
    // Some other seed orders the episodes differently.
    assert!((0..20).any(|s| train_test_split(&ds, s).test != a.test));
    // Tiny cases: one episode trains only; two give one each.
    assert_eq!(split_episodes(&episodes[..1], 0.8, 1).test.len(), 0);
    let two = split_episodes(&episodes[..2], 0.8, 1);
    assert_eq!((two.train.len(), two.test.len()), (1, 1));
}

fn check_windows(ds: &Dataset, episodes: &[Range<usize>], horizon: usize) {
    let sampler = WindowSampler::new(ds, episodes, horizon).unwrap();
    let extra = usize::from(ds.next_observations.is_some());
    let expected: usize = episodes
        .iter()
        .map(|r| (r.len() + extra).saturating_sub(horizon))
        .sum();
    assert_eq!(sampler.len(), expected);
    let starts = sampler.all_starts();
    assert_eq!(starts.len(), expected);
    for (i, &s) in starts.iter().enumerate() {
        assert_eq!(sampler.start(i), Some(s));
    }
    assert!(sampler.start(expected).is_none() && sampler.nth(expected).is_none());

    let mut rng = Rng::new(99);
    let batch = sampler.sample(64, &mut rng);
    let eval = sampler.gather(&(0..expected).collect::<Vec<_>>()).unwrap();
    for batch in [batch, eval] {
        assert_eq!(batch.states.len(), batch.b * (horizon + 1) * 3);
        assert_eq!(batch.actions.len(), batch.b * horizon * 2);
        assert_eq!(batch.rewards.len(), batch.b * horizon);
        for i in 0..batch.b {
            let s0 = batch.state(i, 0);
            let (ep, step0) = (s0[0], s0[1]);
            assert!(episodes.iter().any(|r| ds.observation(r.start)[0] == ep));
            for k in 0..=horizon {
                let s = batch.state(i, k);
                assert_eq!(s[0], ep, "window {i} crosses an episode end at state {k}");
                assert_eq!(s[1], step0 + k as f32);
            }
            for k in 0..horizon {
                assert_eq!(batch.action(i, k), &[ep, step0 + k as f32]);
                let r = batch.rewards[i * horizon + k];
                assert_eq!(r, 1000.0 * ep + step0 + k as f32);
            }
        }
    }
    // Same seed, same batch.
    let a = sampler.sample(16, &mut Rng::new(5));
    let b = sampler.sample(16, &mut Rng::new(5));
    assert_eq!(a, b);
    assert_eq!(
        sampler.nth(3).unwrap().state(0, 0),
        ds.observation(starts[3])
    );
}

#[test]
fn windows_never_cross_an_episode_end() {
    let lengths = [7, 2, 12, 5, 9, 3];
    for with_next in [false, true] {
        let ds = tagged(&lengths, with_next);
        let split = train_test_split(&ds, 3);
        for horizon in [1, 2, 4] {
            check_windows(&ds, &split.train, horizon);
            check_windows(&ds, &ds.episodes(), horizon);
        }
    }
    // Episode of length L: horizon L works only with next_observations.
    let ds = tagged(&[4], true);
    assert_eq!(WindowSampler::new(&ds, &ds.episodes(), 4).unwrap().len(), 1);
    let ds = tagged(&[4], false);
    assert!(WindowSampler::new(&ds, &ds.episodes(), 4).is_err());
}

#[test]
fn sampler_rejects_ranges_that_are_not_episodes() {
    let ds = tagged(&[5, 5], false);
    let source = "tagged.npz";
    let crossing = WindowSampler::with_source(&ds, std::slice::from_ref(&(2..8)), 2, source);
    assert_err_names(crossing, Path::new(source), "episodes");
    let outside = WindowSampler::with_source(&ds, std::slice::from_ref(&(5..11)), 2, source);
    assert_err_names(outside, Path::new(source), "episodes");
    assert_err_names(
        WindowSampler::with_source(&ds, &[], 2, source),
        Path::new(source),
        "episodes",
    );
}

#[test]
fn normalizer_uses_train_split_and_inverts() {
    let ds = data::load(&fixture("d4rl_tiny.npz")).unwrap();
    let split = train_test_split(&ds, 0);
    let norm = Normalizer::fit(&ds, &split.train).unwrap();
    let rows: Vec<usize> = split.train.iter().flat_map(|r| r.clone()).collect();
    let mut states: Vec<f32> = rows
        .iter()
        .flat_map(|&i| ds.observation(i).to_vec())
        .collect();
    norm.normalize_states(&mut states);
    for d in 0..ds.obs_dim {
        let col: Vec<f64> = states.chunks(ds.obs_dim).map(|r| f64::from(r[d])).collect();
        let mean = col.iter().sum::<f64>() / col.len() as f64;
        let var = col.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / col.len() as f64;
        assert!(
            mean.abs() < 1e-4 && (var - 1.0).abs() < 1e-3,
            "dim {d}: {mean} {var}"
        );
    }

    let sampler = WindowSampler::new(&ds, &split.test, 5).unwrap();
    let raw = sampler.sample(8, &mut Rng::new(1));
    let mut batch = raw.clone();
    norm.apply(&mut batch);
    assert_ne!(batch.states, raw.states);
    norm.invert(&mut batch);
    for (a, b) in batch.states.iter().zip(&raw.states) {
        assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0));
    }
    for (a, b) in batch.rewards.iter().zip(&raw.rewards) {
        assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0));
    }

    // A constant dimension gets the floor, not a division by zero.
    let ds = tagged(&[6, 6], false);
    let norm = Normalizer::fit(&ds, &ds.episodes()).unwrap();
    assert_eq!(norm.obs_std[2], koopman::data::normalize::STD_FLOOR);
}

// ---------- bad input ----------

/// The fixture's core arrays, for building damaged variants.
fn fixture_arrays() -> Vec<(&'static str, NpyArray)> {
    let ds = data::load(&fixture("d4rl_tiny.npz")).unwrap();
    let n = ds.len();
    vec![
        (
            "observations",
            NpyArray::from_f32(vec![n, ds.obs_dim], &ds.observations),
        ),
        (
            "actions",
            NpyArray::from_f32(vec![n, ds.act_dim], &ds.actions),
        ),
        ("rewards", NpyArray::from_f32(vec![n], &ds.rewards)),
        ("terminals", NpyArray::from_bool(vec![n], &ds.terminals)),
        ("timeouts", NpyArray::from_bool(vec![n], &ds.timeouts)),
    ]
}

fn write_variant(dir: &Scratch, name: &str, arrays: Vec<(&'static str, NpyArray)>) -> PathBuf {
    let path = dir.path(name);
    npz::write_arrays(&path, &arrays).unwrap();
    path
}

#[test]
fn missing_key_names_file_and_key() {
    let dir = Scratch::new("missing");
    let mut arrays = fixture_arrays();
    arrays.retain(|(k, _)| *k != "timeouts");
    let path = write_variant(&dir, "no_timeouts.npz", arrays);
    assert_err_names(data::load(&path), &path, "timeouts");
}

#[test]
fn wrong_dtype_names_file_and_key() {
    let dir = Scratch::new("dtype");
    let mut arrays = fixture_arrays();
    let obs = &mut arrays[0].1;
    obs.descr = "<i4".to_string(); // same byte count, integer type
    let path = write_variant(&dir, "int_obs.npz", arrays);
    assert_err_names(data::load(&path), &path, "observations");

    let mut arrays = fixture_arrays();
    let n = arrays[3].1.numel();
    arrays[3].1 = NpyArray::from_f32(vec![n], &vec![0.0; n]);
    let path = write_variant(&dir, "float_terminals.npz", arrays);
    assert_err_names(data::load(&path), &path, "terminals");
}

#[test]
fn inconsistent_lengths_name_file_and_key() {
    let dir = Scratch::new("lengths");
    let mut arrays = fixture_arrays();
    let n = arrays[1].1.numel() / 3;
    arrays[1].1 = NpyArray::from_f32(vec![n - 1, 3], &vec![0.0; (n - 1) * 3]);
    let path = write_variant(&dir, "short_actions.npz", arrays);
    assert_err_names(data::load(&path), &path, "actions");

    let mut arrays = fixture_arrays();
    arrays[4].1 = NpyArray::from_bool(vec![n + 1], &vec![false; n + 1]);
    let path = write_variant(&dir, "long_timeouts.npz", arrays);
    assert_err_names(data::load(&path), &path, "timeouts");

    let mut ds = tagged(&[3], false);
    ds.next_observations = Some(vec![0.0; 2]);
    assert_err_names(
        ds.validate("mem.npz"),
        Path::new("mem.npz"),
        "next_observations",
    );
}

#[test]
fn nan_and_inf_name_file_key_and_row() {
    let dir = Scratch::new("nonfinite");
    let mut ds = data::load(&fixture("d4rl_tiny.npz")).unwrap();
    ds.observations[17 * ds.obs_dim + 4] = f32::NAN;
    let mut arrays = fixture_arrays();
    arrays[0].1 = NpyArray::from_f32(vec![ds.len(), ds.obs_dim], &ds.observations);
    let path = write_variant(&dir, "nan_obs.npz", arrays);
    let err = data::load(&path).unwrap_err();
    assert!(err.to_string().contains("row 17"), "{err}");
    assert_err_names(Err::<(), _>(err), &path, "observations");

    let mut arrays = fixture_arrays();
    let n = arrays[2].1.numel();
    let mut rewards = vec![0.0f32; n];
    rewards[250] = f32::INFINITY;
    arrays[2].1 = NpyArray::from_f32(vec![n], &rewards);
    let path = write_variant(&dir, "inf_reward.npz", arrays);
    let err = data::load(&path).unwrap_err();
    assert!(
        matches!(err, DataError::NonFinite { row: 250, .. }),
        "{err}"
    );
    assert_err_names(Err::<(), _>(err), &path, "rewards");
}

#[test]
fn empty_dataset_names_file_and_key() {
    let dir = Scratch::new("empty");
    let arrays = vec![
        ("observations", NpyArray::from_f32(vec![0, 11], &[])),
        ("actions", NpyArray::from_f32(vec![0, 3], &[])),
        ("rewards", NpyArray::from_f32(vec![0], &[])),
        ("terminals", NpyArray::from_bool(vec![0], &[])),
        ("timeouts", NpyArray::from_bool(vec![0], &[])),
    ];
    let path = write_variant(&dir, "empty.npz", arrays);
    let err = data::load(&path).unwrap_err();
    assert!(matches!(err, DataError::Empty { .. }), "{err}");
    assert_err_names(Err::<(), _>(err), &path, "rewards");
}

#[test]
fn horizon_longer_than_every_episode_names_file() {
    let path = fixture("d4rl_tiny.npz");
    let ds = data::load(&path).unwrap();
    let source = path.display().to_string();
    // Longest episode has 120 rows: 120 steps with next_observations, 119 without.
    assert!(WindowSampler::with_source(&ds, &ds.episodes(), 120, &source).is_ok());
    let err = WindowSampler::with_source(&ds, &ds.episodes(), 121, &source);
    let err = err.unwrap_err();
    assert!(
        matches!(
            err,
            DataError::HorizonTooLong {
                horizon: 121,
                longest: 120,
                ..
            }
        ),
        "{err}"
    );
    let mut nonext = ds.clone();
    nonext.next_observations = None;
    let err = WindowSampler::with_source(&nonext, &ds.episodes(), 120, &source).unwrap_err();
    assert!(
        matches!(err, DataError::HorizonTooLong { longest: 119, .. }),
        "{err}"
    );
    assert_err_names(Err::<(), _>(err), &path, "horizon");
    // Without a source the error still names the field, and can be attributed afterwards.
    let err = WindowSampler::new(&ds, &ds.episodes(), 500).unwrap_err();
    assert_err_names(Err::<(), _>(err.with_file(&source)), &path, "horizon");
}

#[test]
fn truncated_files_are_errors_naming_the_file() {
    let dir = Scratch::new("truncated");
    for name in FIXTURES {
        let bytes = fs::read(fixture(name)).unwrap();
        let len = bytes.len();
        for keep in [0, 8, 100, len / 4, len / 2, len - 200, len - 1] {
            let path = dir.path(&format!("cut{keep}_{name}"));
            fs::write(&path, &bytes[..keep]).unwrap();
            let Err(err) = data::load(&path) else {
                panic!("{name} cut to {keep} of {len} bytes loaded");
            };
            let msg = err.to_string();
            assert!(msg.contains(&format!("cut{keep}_{name}")), "{msg}");
            // Every message quotes the field it concerns in backticks.
            assert!(msg.matches('`').count() >= 2, "{msg}");
            assert!(
                matches!(
                    err,
                    DataError::Corrupt { .. } | DataError::MissingKey { .. }
                ),
                "{name} cut to {keep}: {msg}"
            );
        }
    }
}

#[test]
fn damaged_bytes_never_panic() {
    // Flip bytes throughout both fixtures: any outcome but a panic is acceptable.
    let dir = Scratch::new("damaged");
    for name in FIXTURES {
        let bytes = fs::read(fixture(name)).unwrap();
        let mut rng = Rng::new(11);
        for trial in 0..40 {
            let mut damaged = bytes.clone();
            for _ in 0..4 {
                let at = rng.below(damaged.len());
                damaged[at] ^= 1 << rng.below(8);
            }
            let path = dir.path(&format!("flip{trial}_{name}"));
            fs::write(&path, &damaged).unwrap();
            let _ = data::load(&path);
        }
    }
}

#[test]
fn unknown_extension_names_file() {
    let path = PathBuf::from("some/dir/rollouts.csv");
    assert_err_names(data::load(&path), &path, "extension");
    let path = PathBuf::from("no_extension");
    assert_err_names(data::load(&path), &path, "extension");
}

#[test]
fn missing_file_names_file() {
    let path = PathBuf::from("/nonexistent/d4rl.npz");
    assert_err_names(data::load(&path), &path, "open");
}

// ---------- atomic writes ----------

#[test]
fn failed_write_leaves_no_partial_file() {
    let dir = Scratch::new("atomic");
    let ds = data::load(&fixture("d4rl_tiny.npz")).unwrap();

    // The rename fails: the target is a non-empty directory. The temp file must be gone.
    let target = dir.path("blocked.npz");
    fs::create_dir_all(target.join("inside")).unwrap();
    assert!(npz::write(&target, &ds).is_err());
    assert!(!dir.path("blocked.npz.tmp").exists());
    assert!(target.is_dir());

    // Invalid data is refused before anything is written, and an existing file survives.
    let target = dir.path("kept.npz");
    npz::write(&target, &ds).unwrap();
    let before = fs::read(&target).unwrap();
    let mut bad = ds.clone();
    bad.actions[5] = f32::NAN;
    assert_err_names(npz::write(&target, &bad), &target, "actions");
    assert_eq!(fs::read(&target).unwrap(), before);
    assert!(!dir.path("kept.npz.tmp").exists());

    // The directory does not exist: nothing is created anywhere.
    let target = dir.path("missing_dir/x.npz");
    assert!(npz::write(&target, &ds).is_err());
    assert!(!dir.path("missing_dir").exists());

    let names: Vec<String> = fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}
