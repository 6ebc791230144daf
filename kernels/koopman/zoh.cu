// Koopman latent dynamics, ZOH discretisation (src/ops/koopman/zoh), forward + backward.
//
// Layouts (planar complex, see prelude): mu, omega [m] real; log_dt [nd], nd = 1 or m; lbar, gain [2m];
// z0 [B, 2m]; u, c, x [B, T, 2m] where x row k holds xhat_{k+1}; V [2][m][K] (all Re rows,
// then all Im rows), V[i, k] = lbar_i^k for k = 0..K-1, K >= T + 1.
// Gradients use G = dL/dRe + i dL/dIm (model-math.md section 6): for y = a * x, G_x += conj(a) G_y.
// Parameter math (ZOH, Vandermonde) is done in double: it is O(m) or O(m K) work, and double
// keeps phases like omega * dt * k exact enough without range-reduction tricks.

// ---------------------------------------------------------------------------------------------
// ZOH discretisation: lbar = exp(lambda dt), gain b = (lbar - 1) / lambda, lambda = mu + i omega.

// Writes lbar, b and b' = db/dlambda for one mode. Near lambda dt = 0 uses the series
// b = dt (1 + z/2 + z^2/6), b' = dt^2 (1/2 + z/3 + z^2/8), z = lambda dt.
__device__ void zoh_mode(double mu, double om, double dt, double* lb, double* b, double* bp) {
    const double a = mu * dt, th = om * dt;
    double s, c;
    sincos(th, &s, &c);
    const double ea = exp(a);
    lb[0] = ea * c;
    lb[1] = ea * s;
    if (a * a + th * th < 1e-8) {  // |z| < 1e-4
        const double z2r = a * a - th * th, z2i = 2.0 * a * th;
        b[0] = dt * (1.0 + a / 2.0 + z2r / 6.0);
        b[1] = dt * (th / 2.0 + z2i / 6.0);
        bp[0] = dt * dt * (0.5 + a / 3.0 + z2r / 8.0);
        bp[1] = dt * dt * (th / 3.0 + z2i / 8.0);
    } else {
        // lbar - 1 = expm1(a) cos(th) - 2 sin^2(th / 2) + i e^a sin(th): no cancellation.
        const double sh = sin(0.5 * th);
        const double nr = expm1(a) * c - 2.0 * sh * sh, ni = ea * s;
        const double den = mu * mu + om * om;
        b[0] = (nr * mu + ni * om) / den;
        b[1] = (ni * mu - nr * om) / den;
        // b' = (dt lbar - b) / lambda
        const double qr = dt * lb[0] - b[0], qi = dt * lb[1] - b[1];
        bp[0] = (qr * mu + qi * om) / den;
        bp[1] = (qi * mu - qr * om) / den;
    }
}

// log_dt holds nd values, 1 (one shared dt) or m (one per mode): mode i uses log_dt[nd == 1 ? 0 : i].
__device__ double mode_dt(const float* log_dt, int nd, int i) { return exp((double)log_dt[nd == 1 ? 0 : i]); }

// One thread per mode, any 1-D launch.
extern "C" __global__ void zoh_fwd(float* lbar, float* gain, const float* mu, const float* omega,
                                   const float* log_dt, int m, int nd) {
    GRID_STRIDE(i, m) {
        double lb[2], b[2], bp[2];
        zoh_mode(mu[i], omega[i], mode_dt(log_dt, nd, i), lb, b, bp);
        lbar[i] = (float)lb[0];
        lbar[m + i] = (float)lb[1];
        gain[i] = (float)b[0];
        gain[m + i] = (float)b[1];
    }
}

// From G_lbar, G_gain [2m]: dmu, domega [m] += (either may be nullptr for a frozen parameter), and
// dlog_dt [nd] += dt * dL/ddt: per mode (nd == m) dlog_dt[i] += dt_i * dL/ddt_i; shared (nd == 1)
// dlog_dt[0] += dt * sum_i dL/ddt_i. Launch exactly ONE block (multiple of 32 threads): the shared
// sum over modes is a fixed-order block reduction, so it is deterministic without atomics.
extern "C" __global__ void zoh_bwd(NULLABLE float* dmu, NULLABLE float* domega, float* dlog_dt, const float* g_lbar,
                                   const float* g_gain, const float* mu, const float* omega, const float* log_dt,
                                   int m, int nd) {
    double ddt = 0.0;
    for (int i = threadIdx.x; i < m; i += blockDim.x) {
        const double dt = mode_dt(log_dt, nd, i);
        const double mr = mu[i], om = omega[i];
        double lb[2], b[2], bp[2];
        zoh_mode(mr, om, dt, lb, b, bp);
        const double glr = g_lbar[i], gli = g_lbar[m + i];
        const double gbr = g_gain[i], gbi = g_gain[m + i];
        // conj(lbar) G_lbar and conj(b') G_b
        const double clr = lb[0] * glr + lb[1] * gli, cli = lb[0] * gli - lb[1] * glr;
        const double cbr = bp[0] * gbr + bp[1] * gbi, cbi = bp[0] * gbi - bp[1] * gbr;
        if (dmu) dmu[i] += (float)(dt * clr + cbr);
        if (domega) domega[i] += (float)(dt * cli + cbi);
        // dL/ddt_i = Re(conj(lambda lbar) G_lbar) + Re(conj(lbar) G_b)
        //          = Re(conj(lambda) * conj(lbar) G_lbar) + Re(conj(lbar) G_b)
        const double ddt_i = mr * clr + om * cli + (lb[0] * gbr + lb[1] * gbi);
        if (nd == 1) ddt += ddt_i;
        else dlog_dt[i] += (float)(dt * ddt_i);
    }
    if (nd == 1) {  // uniform across the block: every thread reaches block_sum
        ddt = block_sum(ddt);
        if (threadIdx.x == 0) dlog_dt[0] += (float)(mode_dt(log_dt, 1, 0) * ddt);
    }
}
