//! The Koopman rollout ops against an f64 naive recurrence, against each other, and Theorem 3.1.
mod common;
use common::{assert_close, to64};
use koopman::util::rng::Rng;
use koopman::{ParamStore, Tape, Tensor};

/// x̂_{k+1} = λ̄ x̂_k + c_k in f64 with num-complex, the oracle.
fn naive(lbar: &[f64], z0: &[f64], c: &[f64], b: usize, t: usize, m: usize) -> Vec<f64> {
    use num_complex::Complex64 as C;
    let mut out = vec![0.0; b * t * 2 * m];
    for bi in 0..b {
        for j in 0..m {
            let l = C::new(lbar[j], lbar[m + j]);
            let mut x = C::new(z0[bi * 2 * m + j], z0[bi * 2 * m + m + j]);
            for k in 0..t {
                let row = (bi * t + k) * 2 * m;
                x = l * x + C::new(c[row + j], c[row + m + j]);
                out[row + j] = x.re;
                out[row + m + j] = x.im;
            }
        }
    }
    out
}

fn random_f32(n: usize, rng: &mut Rng) -> Vec<f32> {
    (0..n).map(|_| rng.normal() as f32).collect()
}

#[test]
fn scan_and_convolution_equal_the_f64_recurrence() {
    let (b, m) = (3, 8);
    for t in [1usize, 10, 100, 500] {
        let mut rng = Rng::new(t as u64);
        // Eigenvalues as the model builds them: μ = −0.2, ω_j = jπ, Δt = 1/m.
        let params = ParamStore::<f32>::new();
        let mut tape = Tape::no_grad(&params);
        let mu = tape.constant([m], &vec![-0.2; m]).unwrap();
        let om = tape
            .constant(
                [m],
                &(1..=m)
                    .map(|j| j as f32 * std::f32::consts::PI)
                    .collect::<Vec<_>>(),
            )
            .unwrap();
        let ldt = tape.constant([1], &[(1.0 / m as f32).ln()]).unwrap();
        let zg = tape.zoh(mu, om, ldt).unwrap();
        let lbar = tape.narrow(zg, 0, 0, 1).unwrap();
        let lbar = tape.reshape(lbar, &[2 * m]).unwrap();
        let z0 = tape
            .constant([b, 2 * m], &random_f32(b * 2 * m, &mut rng))
            .unwrap();
        let c = tape
            .constant([b, t, 2 * m], &random_f32(b * t * 2 * m, &mut rng))
            .unwrap();
        let xs = tape.scan(z0, c, lbar).unwrap();
        let v = tape.vandermonde(mu, om, ldt, t + 1).unwrap();
        let xc = tape.cconv(z0, c, v).unwrap();
        let expect = naive(
            &to64(tape.value(lbar)),
            &to64(tape.value(z0)),
            &to64(tape.value(c)),
            b,
            t,
            m,
        );
        // Error grows like T·ε: atol scaled to the magnitude of the sums.
        let scale = expect.iter().fold(0.0f64, |a, x| a.max(x.abs()));
        assert_close(
            &to64(tape.value(xs)),
            &expect,
            1e-5 * scale,
            1e-4,
            &format!("scan T={t}"),
        );
        assert_close(
            &to64(tape.value(xc)),
            &expect,
            1e-5 * scale,
            1e-4,
            &format!("conv T={t}"),
        );
        assert_close(
            &to64(tape.value(xs)),
            &to64(tape.value(xc)),
            1e-5 * scale,
            1e-4,
            &format!("scan vs conv T={t}"),
        );
    }
}

#[test]
fn vandermonde_matches_repeated_products_in_f64() {
    let params = ParamStore::<f64>::new();
    let mut tape = Tape::no_grad(&params);
    let m = 5;
    let mu = tape.constant([m], &[-0.2, -0.1, 0.0, -0.3, -0.05]).unwrap();
    let om: Vec<f64> = (1..=m).map(|j| j as f64 * std::f64::consts::PI).collect();
    let om = tape.constant([m], &om).unwrap();
    let ldt = tape.constant([1], &[(0.01f64).ln()]).unwrap();
    let k_len = 300;
    let v = tape.vandermonde(mu, om, ldt, k_len).unwrap();
    let zg = tape.zoh(mu, om, ldt).unwrap();
    let (vv, lb) = (tape.value(v).to_vec(), tape.value(zg)[..2 * m].to_vec());
    for i in 0..m {
        let l = num_complex::Complex64::new(lb[i], lb[m + i]);
        let mut p = num_complex::Complex64::new(1.0, 0.0);
        for k in 0..k_len {
            let (re, im) = (vv[i * k_len + k], vv[m * k_len + i * k_len + k]);
            assert!(
                (re - p.re).abs() < 1e-10 && (im - p.im).abs() < 1e-10,
                "V[{i},{k}]"
            );
            p *= l;
        }
    }
}

#[test]
fn theorem_3_1_gradient_decays_as_exp_k_dt_mu() {
    // |∂L_k/∂z_t| = e^{kΔtμ}·|∂L_k/∂x̂_{t+k}|: put a unit-modulus upstream gradient on step k only.
    let (m, t) = (4, 60);
    let mu = [-0.2f64, -1.0, 0.0, 0.3];
    let dt = 0.1f64;
    let params = ParamStore::<f64>::new();
    for k in [1usize, 10, 30, 60] {
        let mut tape = Tape::new(&params);
        let muv = tape.constant([m], &mu).unwrap();
        let om = tape.constant([m], &[1.0, 2.0, 3.0, 4.0]).unwrap();
        let ldt = tape.constant([1], &[dt.ln()]).unwrap();
        let zg = tape.zoh(muv, om, ldt).unwrap();
        let lbar = tape.narrow(zg, 0, 0, 1).unwrap();
        let lbar = tape.reshape(lbar, &[2 * m]).unwrap();
        let mut rng = Rng::new(k as u64);
        let z0 = tape.input(
            &Tensor::from_vec([1, 2 * m], (0..2 * m).map(|_| rng.normal()).collect()).unwrap(),
        );
        let c = tape.constant([1, t, 2 * m], &vec![0.0; t * 2 * m]).unwrap();
        let x = tape.scan(z0, c, lbar).unwrap();
        // L_k = Re(w·x̂_k) with w = e^{iφ}: the upstream gradient has modulus 1 in every mode.
        let mut w = vec![0.0; t * 2 * m];
        for j in 0..m {
            let phi = 0.3 * j as f64 + 0.1;
            w[(k - 1) * 2 * m + j] = phi.cos();
            w[(k - 1) * 2 * m + m + j] = phi.sin();
        }
        let wv = tape.constant([1, t, 2 * m], &w).unwrap();
        let p = tape.mul(x, wv).unwrap();
        let loss = tape.sum(p);
        let g = tape.backward(loss).unwrap();
        let gz = g.wrt(z0).unwrap();
        for j in 0..m {
            let got = (gz[j] * gz[j] + gz[m + j] * gz[m + j]).sqrt();
            let want = (k as f64 * dt * mu[j]).exp();
            assert!(
                (got - want).abs() < 1e-12 * want.max(1.0),
                "k={k} μ={}: |∂L/∂z| {got} vs e^(kΔtμ) {want}",
                mu[j]
            );
        }
    }
}

#[test]
fn large_cmul_parallel_path_matches_the_serial_kernel() {
    // 600 rows × 2·64: above the parallel threshold, with a ragged last chunk.
    let (rows, m) = (600usize, 64usize);
    let mut rng = Rng::new(9);
    let a = random_f32(rows * 2 * m, &mut rng);
    let b = random_f32(2 * m, &mut rng);
    let g = random_f32(rows * 2 * m, &mut rng);
    let params = ParamStore::<f32>::new();
    let mut tape = Tape::new(&params);
    let av = tape.input(&Tensor::from_vec([rows, 2 * m], a.clone()).unwrap());
    let bv = tape.input(&Tensor::from_vec([2 * m], b.clone()).unwrap());
    let y = tape.cmul(av, bv).unwrap();
    let gv = tape.constant([rows, 2 * m], &g).unwrap();
    let p = tape.mul(y, gv).unwrap();
    let l = tape.sum(p);
    let grads = tape.backward(l).unwrap();
    let mut y_ref = vec![0.0; rows * 2 * m];
    koopman::ops::koopman::cmul::cpu::forward(&a, &b, &mut y_ref);
    assert_eq!(tape.value(y), &y_ref[..]);
    let (mut da, mut db) = (vec![0.0; a.len()], vec![0.0; b.len()]);
    koopman::ops::koopman::cmul::cpu::backward(&a, &b, &g, Some(&mut da), Some(&mut db));
    assert_eq!(grads.wrt(av).unwrap(), &da[..]);
    assert_close(&to64(grads.wrt(bv).unwrap()), &to64(&db), 1e-4, 1e-5, "db");
}
