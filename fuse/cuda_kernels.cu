// fusiond's CUDA kernels: the GPU implementation of fuse.Backend. Compiled at
// run time by NVRTC for the GPU that is present (see cuda.go), cached on disk.
// Each kernel mirrors an operation of the CPU backend (cpu.go); the Backend
// contract (fusetest) holds both to the same answers.

#define PI_F 3.14159265358979f

// motion_grids: one thread per grid cell, blockIdx.y = frame of the batch.
// Frames lie back to back in pix, frame_bytes apart; grids, prev and diffs
// hold gw*gh floats per frame.
extern "C" __global__ void motion_grids(const unsigned char* __restrict__ pix, long long frame_bytes,
                                        int stride, int bpp, int cell, int gw, int gh,
                                        float* __restrict__ grids, const float* __restrict__ prev,
                                        float* __restrict__ diffs) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= gw * gh) return;
    int f = blockIdx.y;
    int bx = c % gw, by = c / gw;
    const unsigned char* p = pix + (long long)f * frame_bytes;
    int sum = 0;
    for (int y = by * cell; y < (by + 1) * cell; y++) {
        const unsigned char* row = p + (long long)y * stride;
        if (bpp == 1) {
            for (int x = bx * cell; x < (bx + 1) * cell; x++) sum += row[x];
        } else {
            for (int x = bx * cell; x < (bx + 1) * cell; x++) {
                const unsigned char* q = row + 3 * x;
                sum += (29 * q[0] + 150 * q[1] + 77 * q[2]) >> 8;
            }
        }
    }
    float v = (float)sum / (float)(cell * cell);
    long long o = (long long)f * gw * gh + c;
    grids[o] = v;
    diffs[o] = fabsf(v - prev[o]);
}

__device__ __forceinline__ float2 cmul(float2 a, float2 b) {
    return make_float2(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

// fft_shared: in-place radix-2 FFT of n = 2^logn points in shared memory,
// input in bit-reversed order; sign -1 forward, +1 inverse (unnormalised).
__device__ void fft_shared(float2* s, int n, float sign) {
    for (int len = 2; len <= n; len <<= 1) {
        int half = len >> 1;
        for (int i = threadIdx.x; i < n / 2; i += blockDim.x) {
            int pos = i & (half - 1);
            int a = (i / half) * len + pos, b = a + half;
            float sn, cs;
            sincospif(sign * 2.0f * (float)pos / (float)len, &sn, &cs);
            float2 t = cmul(make_float2(cs, sn), s[b]);
            float2 u = s[a];
            s[a] = make_float2(u.x + t.x, u.y + t.y);
            s[b] = make_float2(u.x - t.x, u.y - t.y);
        }
        __syncthreads();
    }
}

__device__ __forceinline__ int bitrev(int i, int logn) { return (int)(__brev((unsigned)i) >> (32 - logn)); }

// power_spectra: one block per row; |FFT(x·window)|² for bins 0..n/2.
extern "C" __global__ void power_spectra(float* __restrict__ dst, const float* __restrict__ frames,
                                         const float* __restrict__ window, int n, int logn) {
    extern __shared__ float2 s[];
    int r = blockIdx.x;
    const float* x = frames + (long long)r * n;
    for (int i = threadIdx.x; i < n; i += blockDim.x)
        s[bitrev(i, logn)] = make_float2(x[i] * window[i], 0.0f);
    __syncthreads();
    fft_shared(s, n, -1.0f);
    int bins = n / 2 + 1;
    for (int k = threadIdx.x; k < bins; k += blockDim.x)
        dst[(long long)r * bins + k] = s[k].x * s[k].x + s[k].y * s[k].y;
}

// log_mel: one thread per (row, band).
extern "C" __global__ void log_mel(float* __restrict__ dst, const float* __restrict__ power,
                                   const float* __restrict__ fb, int rows, int bins, int nmel, float floor_) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= rows * nmel) return;
    int r = i / nmel, m = i % nmel;
    const float* p = power + (long long)r * bins;
    const float* w = fb + (long long)m * bins;
    float e = 0.0f;
    for (int k = 0; k < bins; k++) e = fmaf(p[k], w[k], e);
    dst[i] = logf(fmaxf(e, floor_));
}

// gcc_phat: one block per row pair; whitened cross-spectrum conj(A)·B,
// inverse FFT, lags -max_lag..max_lag.
extern "C" __global__ void gcc_phat(float* __restrict__ dst, const float* __restrict__ a,
                                    const float* __restrict__ b, int n, int logn, int max_lag) {
    extern __shared__ float2 s[];
    float2* sa = s;
    float2* sb = s + n;
    int r = blockIdx.x;
    const float* ar = a + (long long)r * n;
    const float* br = b + (long long)r * n;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        int j = bitrev(i, logn);
        sa[j] = make_float2(ar[i], 0.0f);
        sb[j] = make_float2(br[i], 0.0f);
    }
    __syncthreads();
    fft_shared(sa, n, -1.0f);
    fft_shared(sb, n, -1.0f);
    // Whiten in place in sa, then scatter to bit-reversed order in sb.
    for (int k = threadIdx.x; k < n; k += blockDim.x) {
        float2 x = cmul(make_float2(sa[k].x, -sa[k].y), sb[k]);
        float m = sqrtf(x.x * x.x + x.y * x.y);
        sa[k] = m > 1e-30f ? make_float2(x.x / m, x.y / m) : make_float2(0.0f, 0.0f);
    }
    __syncthreads();
    for (int k = threadIdx.x; k < n; k += blockDim.x) sb[bitrev(k, logn)] = sa[k];
    __syncthreads();
    fft_shared(sb, n, 1.0f);
    int lags = 2 * max_lag + 1;
    for (int j = threadIdx.x; j < lags; j += blockDim.x) {
        int k = j - max_lag;
        dst[(long long)r * lags + j] = sb[(k + n) % n].x / (float)n;
    }
}

// dense: one thread per (row, output): act(x·w + bias).
extern "C" __global__ void dense(float* __restrict__ dst, const float* __restrict__ x,
                                 const float* __restrict__ w, const float* __restrict__ bias,
                                 int batch, int in, int out, int act) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= batch * out) return;
    int r = i / out, o = i % out;
    float acc = bias[o];
    const float* xr = x + (long long)r * in;
    for (int k = 0; k < in; k++) acc = fmaf(xr[k], w[(long long)k * out + o], acc);
    if (act == 1) acc = fmaxf(acc, 0.0f);
    else if (act == 2) acc = 1.0f / (1.0f + expf(-acc));
    dst[i] = acc;
}
