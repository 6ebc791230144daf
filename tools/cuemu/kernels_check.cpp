// Checks every CUDA kernel's logic on the CPU, without a GPU or toolkit: cuemu.h runs each CUDA
// thread as a std::thread (barriers for __syncthreads and warp shuffles), and every forward is
// compared with an f64 reference and every backward with central finite differences of it.
// It cannot see timing, occupancy or inter-block races; tests/cuda_parity/ on a GPU is the real
// check. Run from the repository root:
//   g++ -std=c++20 -O2 -w -pthread tools/cuemu/kernels_check.cpp -o target/kernels_check && target/kernels_check
#include "cuemu.h"
#include <array>
#include <complex>
#include <functional>
#include <random>
#include <string>
#include "../../kernels/prelude.cuh"
// Every kernels/**/*.cu file (the layout mirrors src/ops/); add a new one here.
#include "../../kernels/unary.cu"
#include "../../kernels/binary.cu"
#include "../../kernels/matmul.cu"
#include "../../kernels/reduce.cu"
#include "../../kernels/softmax.cu"
#include "../../kernels/layernorm.cu"
#include "../../kernels/l2norm.cu"
#include "../../kernels/loss.cu"
#include "../../kernels/optim.cu"
#include "../../kernels/koopman/zoh.cu"
#include "../../kernels/koopman/vandermonde.cu"
#include "../../kernels/koopman/cmul.cu"
#include "../../kernels/koopman/scan.cu"
#include "../../kernels/koopman/cconv.cu"
#include "../../kernels/gru_cell.cu"
#include "../../kernels/shape.cu"
#include "../../kernels/conv2d.cu"
using std::vector; using cd = std::complex<double>;
typedef vector<float> VF; typedef vector<double> VD;
std::mt19937 rng(42);
VF rnd(size_t n, float lo = -1, float hi = 1) { std::uniform_real_distribution<float> d(lo, hi); VF v(n); for (auto& x : v) x = d(rng); return v; }
VD D(const VF& v) { return VD(v.begin(), v.end()); }
int fails = 0;
void check(const char* name, const VF& got, const VD& want, double rtol = 1e-4) {
    double mx = 0; for (double w : want) mx = std::max(mx, std::fabs(w));
    double atol = 1e-5 * std::max(mx, 1e-30) + 1e-12;
    double worst = 0; size_t wi = 0; bool ok = got.size() == want.size();
    for (size_t i = 0; ok && i < want.size(); ++i) {
        double e = std::fabs(got[i] - want[i]), lim = atol + rtol * std::fabs(want[i]);
        if (e / lim > worst) { worst = e / lim; wi = i; }
    }
    ok = ok && worst <= 1.0;
    printf("%-28s %s  n=%zu  worst err/tol=%.3f at %zu (got %.7g want %.7g)\n", name, ok ? "ok  " : "FAIL", want.size(), worst, wi,
           got.size() > wi ? got[wi] : 0.f, want.size() > wi ? want[wi] : 0.);
    if (!ok) fails++;
}
// central finite differences of a double function
VD fd(std::function<double(const VD&)> L, VD x, double h = 1e-6) {
    VD g(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
        double o = x[i], hh = h * std::max(1.0, std::fabs(o));
        x[i] = o + hh; double a = L(x); x[i] = o - hh; double b = L(x); x[i] = o;
        g[i] = (a - b) / (2 * hh);
    }
    return g;
}
double dot(const VD& a, const VD& b) { double s = 0; for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i]; return s; }
VD add(const VF& a, const VD& b) { VD r(b.size()); for (size_t i = 0; i < b.size(); ++i) r[i] = a[i] + b[i]; return r; }
cd cget(const VD& v, size_t row, int m, int i) { return cd(v[row * 2 * m + i], v[row * 2 * m + m + i]); }
void cset(VD& v, size_t row, int m, int i, cd z) { v[row * 2 * m + i] = z.real(); v[row * 2 * m + m + i] = z.imag(); }
#define L1(grid, block, call) launch(dim3{grid, 1, 1}, dim3{block, 1, 1}, [&] { call; })

// ---------------- references (double) ----------------
// log_dt of nd values: 1 (shared) or m (mode i uses ldt[i]), as src/ops/koopman/{zoh,vandermonde}/cpu.rs.
double dt_of(const VD& ldt, int i) { return std::exp(ldt[ldt.size() == 1 ? 0 : i]); }
void zoh_ref(const VD& mu, const VD& om, const VD& ldt, VD& lb, VD& g) {
    int m = mu.size(); lb.assign(2 * m, 0); g.assign(2 * m, 0);
    for (int i = 0; i < m; ++i) {
        double dt = dt_of(ldt, i);
        cd lam(mu[i], om[i]), z = lam * dt, l = std::exp(z), b;
        b = std::abs(z) < 1e-4 ? dt * (1.0 + z / 2.0 + z * z / 6.0 + z * z * z / 24.0) : (l - 1.0) / lam;
        cset(lb, 0, m, i, l); cset(g, 0, m, i, b);
    }
}
VD vand_ref(const VD& mu, const VD& om, const VD& ldt, int K) {
    int m = mu.size(); VD V(2 * m * K);
    for (int i = 0; i < m; ++i) for (int k = 0; k < K; ++k) {
        cd v = std::exp(cd(mu[i], om[i]) * dt_of(ldt, i) * (double)k); V[i * K + k] = v.real(); V[m * K + i * K + k] = v.imag(); }
    return V;
}
VD scan_ref(const VD& z0, const VD& c, const VD& lb, int B, int T, int m) {
    VD x(B * T * 2 * m);
    for (int b = 0; b < B; ++b) for (int i = 0; i < m; ++i) {
        cd s = cget(z0, b, m, i), l = cget(lb, 0, m, i);
        for (int k = 0; k < T; ++k) { s = l * s + cget(c, b * T + k, m, i); cset(x, b * T + k, m, i, s); }
    }
    return x;
}
VD cconv_ref(const VD& z0, const VD& c, const VD& V, int B, int T, int m, int K) {
    VD x(B * T * 2 * m);
    auto v = [&](int i, int d) { return cd(V[i * K + d], V[m * K + i * K + d]); };
    for (int b = 0; b < B; ++b) for (int i = 0; i < m; ++i) for (int k = 0; k < T; ++k) {
        cd s = v(i, k + 1) * cget(z0, b, m, i);
        for (int l = 0; l <= k; ++l) s += v(i, k - l) * cget(c, b * T + l, m, i);
        cset(x, b * T + k, m, i, s);
    }
    return x;
}

int main() {
    // ---------------- ZOH (shared dt, then per-mode dt) ----------------
    for (int per_mode = 0; per_mode < 2; ++per_mode) {
        const int m = 41, nd = per_mode ? m : 1;
        VF mu = rnd(m, -0.5f, 0.0f), om(m); for (int i = 0; i < m; ++i) om[i] = (float)((i + 1) * M_PI);
        mu[0] = 0; om[0] = 0;              // lambda = 0: series branch
        mu[1] = 1e-3f; om[1] = 0;            // tiny |z|
        VF ldt(nd); for (int i = 0; i < nd; ++i) ldt[i] = (float)std::log((1.0 + 0.25 * (i % 5)) / 64);
        VF lb(2 * m), g(2 * m);
        L1(1, 32, zoh_fwd(lb.data(), g.data(), mu.data(), om.data(), ldt.data(), m, nd));
        VD rl, rg; zoh_ref(D(mu), D(om), D(ldt), rl, rg);
        const char* tag = per_mode ? " (per-mode dt)" : "";
        auto name = [&](const char* s) { static std::string n; n = std::string(s) + tag; return n.c_str(); };
        check(name("zoh_fwd lbar"), lb, rl); check(name("zoh_fwd gain"), g, rg);
        VF Gl = rnd(2 * m), Gg = rnd(2 * m);
        VF dmu0 = rnd(m), dom0 = rnd(m), dldt0 = rnd(nd);
        VF dmu = dmu0, dom = dom0, dldt = dldt0;
        L1(1, 64, zoh_bwd(dmu.data(), dom.data(), dldt.data(), Gl.data(), Gg.data(), mu.data(), om.data(), ldt.data(), m, nd));
        auto L = [&](const VD& mu_, const VD& om_, const VD& l_) { VD a, b; zoh_ref(mu_, om_, l_, a, b); return dot(a, D(Gl)) + dot(b, D(Gg)); };
        check(name("zoh_bwd dmu"), dmu, add(dmu0, fd([&](const VD& p) { return L(p, D(om), D(ldt)); }, D(mu))));
        check(name("zoh_bwd domega"), dom, add(dom0, fd([&](const VD& p) { return L(D(mu), p, D(ldt)); }, D(om))));
        check(name("zoh_bwd dlog_dt"), dldt, add(dldt0, fd([&](const VD& p) { return L(D(mu), D(om), p); }, D(ldt))));
    }
    // ---------------- Vandermonde (shared dt, then per-mode dt) ----------------
    for (int per_mode = 0; per_mode < 2; ++per_mode) {
        const int m = 23, K = 70, nd = per_mode ? m : 1;
        VF mu = rnd(m, -0.3f, -0.1f), om(m); for (int i = 0; i < m; ++i) om[i] = (float)((i + 1) * M_PI);
        VF ldt(nd); for (int i = 0; i < nd; ++i) ldt[i] = (float)std::log((1.0 + 0.25 * (i % 5)) / 23);
        const char* tag = per_mode ? " (per-mode dt)" : "";
        auto name = [&](const char* s) { static std::string n; n = std::string(s) + tag; return n.c_str(); };
        VF V(2 * m * K);
        L1(3, 64, vandermonde_fwd(V.data(), mu.data(), om.data(), ldt.data(), m, K, nd));
        check(name("vandermonde_fwd"), V, vand_ref(D(mu), D(om), D(ldt), K));
        VF G = rnd(2 * m * K), dmu0 = rnd(m), dom0 = rnd(m), dl0 = rnd(nd);
        VF dmu = dmu0, dom = dom0, dl = dl0, part(m);
        if (per_mode) {
            // As the launcher does: each mode's block accumulates into dlog_dt[i], nothing to reduce.
            launch(dim3{m, 1, 1}, dim3{128, 1, 1}, [&] { vandermonde_bwd(dmu.data(), dom.data(), dl.data(), G.data(), mu.data(), om.data(), ldt.data(), m, K, nd); });
        } else {
            launch(dim3{m, 1, 1}, dim3{128, 1, 1}, [&] { vandermonde_bwd(dmu.data(), dom.data(), part.data(), G.data(), mu.data(), om.data(), ldt.data(), m, K, nd); });
            L1(1, 256, dt_reduce(dl.data(), part.data(), m));
        }
        auto L = [&](const VD& a, const VD& b, const VD& c) { return dot(vand_ref(a, b, c, K), D(G)); };
        check(name("vandermonde_bwd dmu"), dmu, add(dmu0, fd([&](const VD& p) { return L(p, D(om), D(ldt)); }, D(mu))));
        check(name("vandermonde_bwd domega"), dom, add(dom0, fd([&](const VD& p) { return L(D(mu), p, D(ldt)); }, D(om))));
        check(name("vandermonde_bwd dlog_dt"), dl, add(dl0, fd([&](const VD& p) { return L(D(mu), D(om), p); }, D(ldt))));
    }
    // ---------------- cmul_gain ----------------
    {
        const int rows = 53, m = 37;
        VF u = rnd(rows * 2 * m), gain = rnd(2 * m), c(rows * 2 * m);
        L1(2, 64, cmul_gain_fwd(c.data(), u.data(), gain.data(), rows, m));
        VD rc(rows * 2 * m);
        for (int r = 0; r < rows; ++r) for (int i = 0; i < m; ++i) cset(rc, r, m, i, cget(D(gain), 0, m, i) * cget(D(u), r, m, i));
        check("cmul_gain_fwd", c, rc);
        VF gc = rnd(rows * 2 * m), du0 = rnd(rows * 2 * m), dg0 = rnd(2 * m);
        VF du = du0, dg = dg0; const int rpp = 16, P = (rows + rpp - 1) / rpp; VF part(P * 2 * m);
        launch(dim3{(m + 31) / 32, P, 1}, dim3{32, 8, 1}, [&] { cmul_gain_bwd(du.data(), part.data(), gc.data(), u.data(), gain.data(), rows, m, rpp); });
        L1(1, 64, sum_cols_final(dg.data(), part.data(), P, 2 * m, 1));
        auto Lu = [&](const VD& uu) { VD cc(rows * 2 * m); for (int r = 0; r < rows; ++r) for (int i = 0; i < m; ++i) cset(cc, r, m, i, cget(D(gain), 0, m, i) * cget(uu, r, m, i)); return dot(cc, D(gc)); };
        auto Lg = [&](const VD& gg) { VD cc(rows * 2 * m); for (int r = 0; r < rows; ++r) for (int i = 0; i < m; ++i) cset(cc, r, m, i, cget(gg, 0, m, i) * cget(D(u), r, m, i)); return dot(cc, D(gc)); };
        check("cmul_gain_bwd du", du, add(du0, fd(Lu, D(u))));
        check("cmul_gain_bwd dgain", dg, add(dg0, fd(Lg, D(gain))));
    }
    // ---------------- scan ----------------
    {
        const int B = 3, T = 45, m = 37;
        VF mu = rnd(m, -0.3f, 0.0f), om = rnd(m, 0.f, 3.f), lbf(2 * m);
        for (int i = 0; i < m; ++i) { cd l = std::exp(cd(mu[i], om[i]) * 0.1); lbf[i] = l.real(); lbf[m + i] = l.imag(); }
        VF z0 = rnd(B * 2 * m), c = rnd(B * T * 2 * m), x(B * T * 2 * m);
        launch(dim3{(m + 127) / 128, B, 1}, dim3{128, 1, 1}, [&] { scan_fwd(x.data(), z0.data(), c.data(), lbf.data(), B, T, m); });
        VD rx = scan_ref(D(z0), D(c), D(lbf), B, T, m);
        check("scan_fwd", x, rx);
        VF gx = rnd(B * T * 2 * m), dz00 = rnd(B * 2 * m), dc0 = rnd(B * T * 2 * m), dl0 = rnd(2 * m);
        VF dz0 = dz00, dc = dc0, dl = dl0, part(B * 2 * m);
        launch(dim3{(m + 127) / 128, B, 1}, dim3{128, 1, 1}, [&] { scan_bwd(dz0.data(), dc.data(), part.data(), gx.data(), x.data(), z0.data(), lbf.data(), B, T, m); });
        L1(1, 64, sum_cols_final(dl.data(), part.data(), B, 2 * m, 1));
        check("scan_bwd dz0", dz0, add(dz00, fd([&](const VD& p) { return dot(scan_ref(p, D(c), D(lbf), B, T, m), D(gx)); }, D(z0))));
        check("scan_bwd dc", dc, add(dc0, fd([&](const VD& p) { return dot(scan_ref(D(z0), p, D(lbf), B, T, m), D(gx)); }, D(c))));
        check("scan_bwd dlbar", dl, add(dl0, fd([&](const VD& p) { return dot(scan_ref(D(z0), D(c), p, B, T, m), D(gx)); }, D(lbf))));
    }
    // ---------------- cconv ----------------
    for (int K_extra : {1, 3}) {
        const int B = 3, T = 40, m = 35, K = T + K_extra;
        VF V = rnd(2 * m * K, -0.8f, 0.8f), z0 = rnd(B * 2 * m), c = rnd(B * T * 2 * m), x(B * T * 2 * m);
        launch(dim3{(m + 31) / 32, (T + 31) / 32, B}, dim3{32, 8, 1}, [&] { cconv_fwd(x.data(), z0.data(), c.data(), V.data(), B, T, m, K); });
        check("cconv_fwd", x, cconv_ref(D(z0), D(c), D(V), B, T, m, K));
        VF g = rnd(B * T * 2 * m), dz00 = rnd(B * 2 * m), dc0 = rnd(B * T * 2 * m), dV0 = rnd(2 * m * K);
        VF dz0 = dz00, dc = dc0, dV = dV0;
        launch(dim3{(m + 31) / 32, (T + 31) / 32, B}, dim3{32, 8, 1}, [&] { cconv_bwd_dc(dc.data(), g.data(), V.data(), B, T, m, K); });
        L1(2, 64, cconv_bwd_dz0(dz0.data(), g.data(), V.data(), B, T, m, K));
        const int bpp = 2, P = (B + bpp - 1) / bpp; VF part(P * 2 * m * K);
        launch(dim3{(m + 31) / 32, (K + 31) / 32, P}, dim3{32, 8, 1}, [&] { cconv_bwd_dv(part.data(), g.data(), c.data(), z0.data(), B, T, m, K, bpp); });
        L1(4, 64, sum_cols_final(dV.data(), part.data(), P, 2 * m * K, 1));
        check("cconv_bwd dz0", dz0, add(dz00, fd([&](const VD& p) { return dot(cconv_ref(p, D(c), D(V), B, T, m, K), D(g)); }, D(z0))));
        check("cconv_bwd dc", dc, add(dc0, fd([&](const VD& p) { return dot(cconv_ref(D(z0), p, D(V), B, T, m, K), D(g)); }, D(c))));
        check("cconv_bwd dV", dV, add(dV0, fd([&](const VD& p) { return dot(cconv_ref(D(z0), D(c), p, B, T, m, K), D(g)); }, D(V))));
    }
    // ---------------- GRU ----------------
    {
        const int B = 5, H = 19;
        VF xp = rnd(B * 3 * H), hp = rnd(B * 3 * H), h = rnd(B * H), hn(B * H), gates(B * 3 * H);
        auto ref = [&](const VD& xp_, const VD& hp_, const VD& h_) {
            VD out(B * H);
            for (int b = 0; b < B; ++b) for (int j = 0; j < H; ++j) {
                int o = b * 3 * H; auto sg = [](double v) { return 1 / (1 + std::exp(-v)); };
                double r = sg(xp_[o + j] + hp_[o + j]), z = sg(xp_[o + H + j] + hp_[o + H + j]);
                double n = std::tanh(xp_[o + 2 * H + j] + r * hp_[o + 2 * H + j]);
                out[b * H + j] = (1 - z) * n + z * h_[b * H + j];
            }
            return out;
        };
        L1(2, 32, gru_cell_fwd(hn.data(), gates.data(), xp.data(), hp.data(), h.data(), B, H));
        check("gru_cell_fwd", hn, ref(D(xp), D(hp), D(h)));
        VF dhn = rnd(B * H), dxp0 = rnd(B * 3 * H), dhp0 = rnd(B * 3 * H), dh0 = rnd(B * H);
        VF dxp = dxp0, dhp = dhp0, dh = dh0;
        L1(2, 32, gru_cell_bwd(dxp.data(), dhp.data(), dh.data(), dhn.data(), gates.data(), hp.data(), h.data(), B, H));
        check("gru_cell_bwd dxp", dxp, add(dxp0, fd([&](const VD& p) { return dot(ref(p, D(hp), D(h)), D(dhn)); }, D(xp))));
        check("gru_cell_bwd dhp", dhp, add(dhp0, fd([&](const VD& p) { return dot(ref(D(xp), p, D(h)), D(dhn)); }, D(hp))));
        check("gru_cell_bwd dh", dh, add(dh0, fd([&](const VD& p) { return dot(ref(D(xp), D(hp), p), D(dhn)); }, D(h))));
    }
    // ---------------- elementwise ----------------
    {
        const int n = 300;
        VF x = rnd(n, -3, 3), y(n), dy = rnd(n), dx0 = rnd(n);
        struct U { const char* name; void (*fwd)(float*, const float*, int); void (*bwd)(float*, const float*, const float*, int); bool uses_y;
                   double (*f)(double); };
        U us[] = {
            {"relu", relu_fwd, relu_bwd, false, [](double v) { return v > 0 ? v : 0.0; }},
            {"elu", elu_fwd, elu_bwd, false, [](double v) { return v > 0 ? v : std::expm1(v); }},
            {"gelu", gelu_fwd, gelu_bwd, false, [](double v) { return 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))); }},
            {"tanh", tanh_fwd, tanh_bwd, true, [](double v) { return std::tanh(v); }},
            {"sigmoid", sigmoid_fwd, sigmoid_bwd, true, [](double v) { return 1 / (1 + std::exp(-v)); }},
            {"silu", silu_fwd, silu_bwd, false, [](double v) { return v / (1 + std::exp(-v)); }},
            {"exp", exp_fwd, exp_bwd, true, [](double v) { return std::exp(v); }},
            {"softplus", softplus_fwd, softplus_bwd, false, [](double v) { return std::log1p(std::exp(v)); }},
        };
        for (auto& u : us) {
            L1(2, 64, u.fwd(y.data(), x.data(), n));
            VD ry(n), rd(n); for (int i = 0; i < n; ++i) { ry[i] = u.f(x[i]); double h = 1e-6; rd[i] = dx0[i] + dy[i] * (u.f(x[i] + h) - u.f(x[i] - h)) / (2 * h); }
            char nm[64]; snprintf(nm, 64, "%s_fwd", u.name); check(nm, y, ry);
            VF dx = dx0; const VF& arg = u.uses_y ? y : x;
            L1(2, 64, u.bwd(dx.data(), arg.data(), dy.data(), n));
            snprintf(nm, 64, "%s_bwd", u.name); check(nm, dx, rd, 1e-3);
        }
        const int R = 13, nb = 37; VF a = rnd(R * nb), bb = rnd(nb), yy(R * nb), dyy = rnd(R * nb);
        L1(2, 64, add_fwd(yy.data(), a.data(), bb.data(), R * nb, nb));
        VD r(R * nb); for (int i = 0; i < R * nb; ++i) r[i] = a[i] + bb[i % nb]; check("add_fwd", yy, r);
        L1(2, 64, mul_fwd(yy.data(), a.data(), bb.data(), R * nb, nb));
        for (int i = 0; i < R * nb; ++i) r[i] = (double)a[i] * bb[i % nb]; check("mul_fwd", yy, r);
        VF da0 = rnd(R * nb), da = da0; L1(2, 64, mul_bwd_a(da.data(), bb.data(), dyy.data(), R * nb, nb));
        for (int i = 0; i < R * nb; ++i) r[i] = da0[i] + (double)dyy[i] * bb[i % nb]; check("mul_bwd_a", da, r);
        VF db0 = rnd(nb), db = db0; const int rpp = 4, P = (R + rpp - 1) / rpp; VF part(P * nb);
        launch(dim3{(nb + 31) / 32, P, 1}, dim3{32, 8, 1}, [&] { sum_cols_partial(part.data(), dyy.data(), a.data(), R, nb, rpp); });
        L1(1, 32, sum_cols_final(db.data(), part.data(), P, nb, 1));
        VD rb(nb); for (int j = 0; j < nb; ++j) { rb[j] = db0[j]; for (int q = 0; q < R; ++q) rb[j] += (double)dyy[q * nb + j] * a[q * nb + j]; }
        check("mul_bwd_b (sum_cols w)", db, rb);
    }
    // ---------------- reduce ----------------
    {
        const int R = 21, C = 45;
        VF x = rnd(R * C, -2, 2), y(R * C), dy = rnd(R * C), dx0 = rnd(R * C);
        VF s(R); launch(dim3{3, 1, 1}, dim3{256, 1, 1}, [&] { sum_rows_fwd(s.data(), x.data(), R, C); });
        VD rs(R); for (int r = 0; r < R; ++r) for (int c = 0; c < C; ++c) rs[r] += x[r * C + c]; check("sum_rows_fwd", s, rs);
        // softmax (non-causal and causal on [3, 7, 7])
        for (int causal : {0, 1}) {
            const int Rr = causal ? 21 : R, Cc = causal ? 7 : C;
            auto ref = [&](const VD& xx) { VD o(Rr * Cc); for (int r = 0; r < Rr; ++r) { int live = causal ? r % Cc + 1 : Cc; double mx = -1e300, sm = 0;
                for (int c = 0; c < live; ++c) mx = std::max(mx, xx[r * Cc + c]); for (int c = 0; c < live; ++c) sm += std::exp(xx[r * Cc + c] - mx);
                for (int c = 0; c < Cc; ++c) o[r * Cc + c] = c < live ? std::exp(xx[r * Cc + c] - mx) / sm : 0; } return o; };
            VF xs(x.begin(), x.begin() + Rr * Cc), ys(Rr * Cc), dys(dy.begin(), dy.begin() + Rr * Cc), dxs0(dx0.begin(), dx0.begin() + Rr * Cc), dxs = dxs0;
            launch(dim3{3, 1, 1}, dim3{256, 1, 1}, [&] { softmax_fwd(ys.data(), xs.data(), Rr, Cc, causal); });
            check(causal ? "softmax_fwd causal" : "softmax_fwd", ys, ref(D(xs)));
            launch(dim3{3, 1, 1}, dim3{256, 1, 1}, [&] { softmax_bwd(dxs.data(), ys.data(), dys.data(), Rr, Cc); });
            check(causal ? "softmax_bwd causal" : "softmax_bwd", dxs, add(dxs0, fd([&](const VD& p) { return dot(ref(p), D(dys)); }, D(xs))));
        }
        // layernorm
        VF gam = rnd(C, 0.5, 1.5), bet = rnd(C), mean(R), rstd(R);
        auto ref = [&](const VD& xx, const VD& gg, const VD& bbt) { VD o(R * C); for (int r = 0; r < R; ++r) { double mu = 0, v = 0;
            for (int c = 0; c < C; ++c) mu += xx[r * C + c]; mu /= C; for (int c = 0; c < C; ++c) v += (xx[r * C + c] - mu) * (xx[r * C + c] - mu); v /= C;
            for (int c = 0; c < C; ++c) o[r * C + c] = (xx[r * C + c] - mu) / std::sqrt(v + 1e-5) * gg[c] + bbt[c]; } return o; };
        launch(dim3{3, 1, 1}, dim3{256, 1, 1}, [&] { layernorm_fwd(y.data(), mean.data(), rstd.data(), x.data(), gam.data(), bet.data(), R, C); });
        check("layernorm_fwd", y, ref(D(x), D(gam), D(bet)));
        VF dx = dx0; launch(dim3{3, 1, 1}, dim3{256, 1, 1}, [&] { layernorm_bwd_dx(dx.data(), dy.data(), x.data(), gam.data(), mean.data(), rstd.data(), R, C); });
        check("layernorm_bwd dx", dx, add(dx0, fd([&](const VD& p) { return dot(ref(p, D(gam), D(bet)), D(dy)); }, D(x))), 1e-3);
        const int rpp = 8, P = (R + rpp - 1) / rpp; VF part(P * 2 * C), dg0 = rnd(C), db0 = rnd(C), dg = dg0, db = db0;
        launch(dim3{(C + 31) / 32, P, 1}, dim3{32, 8, 1}, [&] { layernorm_bwd_gb_partial(part.data(), dy.data(), x.data(), mean.data(), rstd.data(), R, C, rpp); });
        L1(1, 64, layernorm_bwd_gb_final(dg.data(), db.data(), part.data(), P, C));
        check("layernorm_bwd dgamma", dg, add(dg0, fd([&](const VD& p) { return dot(ref(D(x), p, D(bet)), D(dy)); }, D(gam))));
        check("layernorm_bwd dbeta", db, add(db0, fd([&](const VD& p) { return dot(ref(D(x), D(gam), p), D(dy)); }, D(bet))));
        // l2norm (eps 1e-3; row 0 scaled below eps, where y = x / eps)
        VF xl = x; for (int c = 0; c < C; ++c) xl[c] *= 1e-6f;
        auto lref = [&](const VD& xx) { VD o(R * C); for (int r = 0; r < R; ++r) { double n = 0; for (int c = 0; c < C; ++c) n += xx[r * C + c] * xx[r * C + c];
            n = std::max(std::sqrt(n), 1e-3); for (int c = 0; c < C; ++c) o[r * C + c] = xx[r * C + c] / n; } return o; };
        VF yl(R * C), nl(R); launch(dim3{3, 1, 1}, dim3{256, 1, 1}, [&] { l2norm_fwd(yl.data(), nl.data(), xl.data(), 1e-3f, R, C); });
        check("l2norm_fwd", yl, lref(D(xl)));
        VF dxl = dx0; launch(dim3{3, 1, 1}, dim3{256, 1, 1}, [&] { l2norm_bwd(dxl.data(), yl.data(), nl.data(), dy.data(), 1e-3f, R, C); });
        check("l2norm_bwd", dxl, add(dx0, fd([&](const VD& p) { return dot(lref(p), D(dy)); }, D(xl))), 1e-3);
    }
    // ---------------- loss + optim ----------------
    {
        const int n = 1000; VF p = rnd(n), t = rnd(n), part(4), loss(1), dl = {0.7f}, dp0 = rnd(n), dp = dp0, dt(n, 0.f);
        L1(4, 64, mse_fwd_partial(part.data(), p.data(), t.data(), n));
        L1(1, 64, mse_fwd_final(loss.data(), part.data(), 4, n));
        double s = 0; VD rg(n); for (int i = 0; i < n; ++i) { s += (double)(p[i] - t[i]) * (p[i] - t[i]); rg[i] = dp0[i] + 0.7 * 2 * ((double)p[i] - t[i]) / n; }
        check("mse_fwd", loss, VD{s / n});
        L1(2, 64, mse_bwd(dp.data(), dt.data(), p.data(), t.data(), dl.data(), n));
        check("mse_bwd", dp, rg);
        VF w = rnd(n), m = rnd(n, 0, 0.1f), v = rnd(n, 0, 0.1f), g = rnd(n); VF w1 = w, m1 = m, v1 = v;
        float lr = 1e-2f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = 0.01f; int step = 3; float bc1 = 1 - std::pow(b1, step), bc2 = 1 - std::pow(b2, step);
        L1(2, 64, adamw_step(w1.data(), m1.data(), v1.data(), g.data(), n, lr, b1, b2, eps, wd, bc1, bc2));
        VD rw(n); for (int i = 0; i < n; ++i) { double mm = b1 * (double)m[i] + (1 - b1) * (double)g[i], vv = b2 * (double)v[i] + (1 - (double)b2) * g[i] * g[i];
            rw[i] = w[i] - lr * ((mm / bc1) / (std::sqrt(vv / bc2) + eps) + wd * (double)w[i]); }
        check("adamw_step", w1, rw);
        VF nrm(1), clip(1); L1(4, 64, grad_sqnorm_partial(part.data(), g.data(), n)); L1(1, 32, grad_norm_final(nrm.data(), clip.data(), part.data(), 4, 1.0f));
        double ss = 0; for (float q : g) ss += (double)q * q; check("grad_norm", nrm, VD{std::sqrt(ss)}); check("grad_clip", clip, VD{1.0 / (std::sqrt(ss) + 1e-6)});
    }
    // ---------------- shape (exact copies) + bias ----------------
    {
        // concat of [4, 3, 5] and [4, 2, 5] along axis 1 viewed as [outer 4, axis*inner], then the
        // narrow that takes the second piece back out, accumulating onto random values.
        const int O = 4, I = 5, A1 = 3, A2 = 2, W = (A1 + A2) * I; VF x1 = rnd(O * A1 * I), x2 = rnd(O * A2 * I), y(O * W, NAN);
        L1(2, 32, copy_block(y.data(), W, 0, x1.data(), A1 * I, 0, O, A1 * I, 0));
        L1(2, 32, copy_block(y.data(), W, A1 * I, x2.data(), A2 * I, 0, O, A2 * I, 0));
        VD r(O * W); for (int o = 0; o < O; ++o) for (int j = 0; j < W; ++j) r[o * W + j] = j < A1 * I ? x1[o * A1 * I + j] : x2[o * A2 * I + j - A1 * I];
        check("copy_block concat", y, r, 0);
        VF d0 = rnd(O * A2 * I), d = d0; L1(2, 32, copy_block(d.data(), A2 * I, 0, y.data(), W, A1 * I, O, A2 * I, 1));
        VD rd(O * A2 * I); for (int i = 0; i < O * A2 * I; ++i) rd[i] = (double)d0[i] + x2[i]; check("copy_block narrow +=", d, rd);
        // permute [2, 3, 4] by (2, 0, 1): y[k, i, j] = x[i, j, k]; backward by the inverse (1, 2, 0).
        VF px = rnd(24), py(24, NAN); L1(1, 32, permute(py.data(), px.data(), 24, 1, 1, 1, 4, 2, 3, 0, 0, 0, 1, 12, 4, 0));
        VD pr(24); for (int i = 0; i < 2; ++i) for (int j = 0; j < 3; ++j) for (int k = 0; k < 4; ++k) pr[k * 6 + i * 3 + j] = px[i * 12 + j * 4 + k];
        check("permute", py, pr, 0);
        VF gx(24, 0.f); L1(1, 32, permute(gx.data(), py.data(), 24, 1, 1, 1, 2, 3, 4, 0, 0, 0, 3, 1, 6, 1));
        check("permute inverse +=", gx, D(px), 0);
        const int R = 7, nb = 9; VF yb = rnd(R * nb), yb0 = yb, bb = rnd(nb); L1(2, 32, bias_add(yb.data(), bb.data(), R * nb, nb));
        VD rb(R * nb); for (int i = 0; i < R * nb; ++i) rb[i] = (double)yb0[i] + bb[i % nb]; check("bias_add", yb, rb);
        // The fused epilogue: ELU of y + b, then tanh of y with no bias.
        VF ya = yb0; L1(2, 32, bias_act(ya.data(), bb.data(), R * nb, nb, ACT_ELU));
        VD ra(R * nb); for (int i = 0; i < R * nb; ++i) { double v = (double)yb0[i] + bb[i % nb]; ra[i] = v > 0 ? v : std::expm1(v); }
        check("bias_act elu", ya, ra);
        VF yt = yb0; L1(2, 32, bias_act(yt.data(), nullptr, R * nb, nb, ACT_TANH));
        VD rt(R * nb); for (int i = 0; i < R * nb; ++i) rt[i] = std::tanh((double)yb0[i]); check("bias_act tanh, no bias", yt, rt);
        // bf16 cast: round to nearest even, checked bit for bit against a direct construction.
        VF cx = {1.0f, -2.5f, 3.14159265f, 1.00390625f, 1.01171875f, 65504.f, 1e-40f, INFINITY, -0.0f};
        std::vector<unsigned short> cy(cx.size()); L1(1, 32, f32_to_bf16(cy.data(), cx.data(), (int)cx.size()));
        int bad = 0; for (size_t i = 0; i < cx.size(); ++i) {
            double v = cx[i], best = 0; unsigned short bi = 0;  // nearest bf16 by search over the two neighbours
            unsigned int u = __float_as_uint(cx[i]); unsigned short lo = u >> 16, hi = lo + 1;
            float flo, fhi; unsigned int ul = (unsigned)lo << 16, uh = (unsigned)hi << 16; std::memcpy(&flo, &ul, 4); std::memcpy(&fhi, &uh, 4);
            double el = std::fabs(v - flo), eh = std::fabs(v - fhi);
            bi = (el < eh || (el == eh && (lo & 1) == 0) || std::isinf(v)) ? lo : hi; (void)best;
            if (cy[i] != bi) { printf("f32_to_bf16 %g: got %04x want %04x\n", v, cy[i], bi); bad++; }
        }
        printf("%-28s %s  n=%zu\n", "f32_to_bf16", bad ? "FAIL" : "ok  ", cx.size()); fails += bad != 0;
    }
    // ---------------- conv2d: im2col, col2im, bias ----------------
    // (N, C, H, W, KH, KW, stride, pad): odd sizes, a stride that does not divide, wide padding.
    for (auto [N, C, H, W, KH, KW, S, P] : {std::array<int, 8>{3, 2, 7, 6, 3, 3, 1, 1}, std::array<int, 8>{3, 3, 9, 8, 3, 2, 2, 0},
                                            std::array<int, 8>{2, 2, 5, 7, 2, 3, 3, 2}}) {
        const int OH = (H + 2 * P - KH) / S + 1, OW = (W + 2 * P - KW) / S + 1, ckk = C * KH * KW, p = OH * OW;
        const int n0 = 1, ns = N - 1;  // a chunk that starts past the first sample
        auto xat = [&](const VF& x, int n, int c, int iy, int ix) -> double {
            return iy < 0 || iy >= H || ix < 0 || ix >= W ? 0.0 : x[((size_t)(n * C + c) * H + iy) * W + ix]; };
        char nm[96];
        VF x = rnd((size_t)N * C * H * W), col((size_t)ns * ckk * p, NAN);
        L1(3, 64, conv2d_im2col(col.data(), x.data(), n0, ns, C, H, W, KH, KW, S, P, OH, OW));
        VD rc(col.size());
        for (int s = 0; s < ns; ++s) for (int c = 0; c < C; ++c) for (int ki = 0; ki < KH; ++ki) for (int kj = 0; kj < KW; ++kj)
            for (int oy = 0; oy < OH; ++oy) for (int ox = 0; ox < OW; ++ox)
                rc[((size_t)s * ckk + (c * KH + ki) * KW + kj) * p + oy * OW + ox] = xat(x, n0 + s, c, oy * S + ki - P, ox * S + kj - P);
        snprintf(nm, 96, "conv2d_im2col s%d p%d", S, P); check(nm, col, rc, 0);
        // col2im adds each entry onto the pixel im2col read it from (padding entries vanish).
        VF g = rnd(col.size()), dx0 = rnd(x.size());
        for (int acc : {1, 0}) {
            VF dx = dx0; VD rd(D(dx0));
            for (int s = 0; s < ns; ++s) for (int c = 0; c < C; ++c) for (int i = 0; i < H * W; ++i)
                if (!acc) rd[((size_t)(n0 + s) * C + c) * H * W + i] = 0;
            for (int s = 0; s < ns; ++s) for (int c = 0; c < C; ++c) for (int ki = 0; ki < KH; ++ki) for (int kj = 0; kj < KW; ++kj)
                for (int oy = 0; oy < OH; ++oy) for (int ox = 0; ox < OW; ++ox) {
                    int iy = oy * S + ki - P, ix = ox * S + kj - P;
                    if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                    rd[((size_t)(n0 + s) * C + c) * H * W + iy * W + ix] += g[((size_t)s * ckk + (c * KH + ki) * KW + kj) * p + oy * OW + ox];
                }
            L1(3, 64, conv2d_col2im(dx.data(), g.data(), n0, ns, C, H, W, KH, KW, S, P, OH, OW, acc));
            snprintf(nm, 96, "conv2d_col2im s%d p%d acc%d", S, P, acc); check(nm, dx, rd);
        }
        // Bias: y[n, o, q] += b[o]; db[o] (+)= sum over n, q of dy[n, o, q].
        const int O = 5; VF b = rnd(O), y0 = rnd((size_t)N * O * p), y = y0, dy = rnd(y.size()), db0 = rnd(O);
        L1(2, 64, conv2d_bias_fwd(y.data(), b.data(), N * O * p, O, p));
        VD ry(y.size()); for (size_t i = 0; i < y.size(); ++i) ry[i] = (double)y0[i] + b[(i / p) % O];
        snprintf(nm, 96, "conv2d_bias_fwd s%d p%d", S, P); check(nm, y, ry);
        for (int acc : {1, 0}) {
            VF db = db0; VD rb(O);
            for (int o = 0; o < O; ++o) { rb[o] = acc ? db0[o] : 0.0; for (int n = 0; n < N; ++n) for (int q = 0; q < p; ++q) rb[o] += dy[((size_t)n * O + o) * p + q]; }
            launch(dim3{(unsigned)O, 1, 1}, dim3{64, 1, 1}, [&] { conv2d_bias_bwd(db.data(), dy.data(), N, O, p, acc); });
            snprintf(nm, 96, "conv2d_bias_bwd s%d p%d acc%d", S, P, acc); check(nm, db, rb);
        }
    }
    printf(fails ? "\n%d FAILURES\n" : "\nALL OK\n", fails);
    return fails != 0;
}
