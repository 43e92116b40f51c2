// ESLint (flat config) for the TypeScript sources; layout is Prettier's job (`prettier --check`
// runs beside it in `npm run lint`). An eslint-disable comment must name its rule and say why,
// and one that disables nothing is an error.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "native/", "notebooks/", "assets/", "**/*.js", "**/*.mjs", "**/*.cjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // require() only where a module is found at run time (addon, command, preload); JSON is data.
      "@typescript-eslint/no-require-imports": ["error", { allow: ["package\\.json$"], allowAsImport: true }],
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
      ],
      eqeqeq: ["error", "always"],
      // Prettier keeps code within 120 columns but leaves long strings and comments alone.
      "max-len": ["error", { code: 120, ignoreUrls: true }],
      "no-console": "off",
    },
  },
);
