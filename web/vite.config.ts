import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The built files are embedded in the server binary (functions/app/build.rs) and served at `/`;
// for S3/CloudFront they are uploaded as they are, with `VITE_API_BASE` naming the API.
export default defineConfig({
  plugins: [react()],
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    // The budget the browser test measures is 250 KB gzipped for the rep's pages.
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: { "/v1": "http://127.0.0.1:8080", "/health": "http://127.0.0.1:8080" },
  },
});
