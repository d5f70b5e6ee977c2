/** Build-time constant: true in the development build (export condition `development`) and in tests; the release build removes every branch behind it. */
declare const __DEV__: boolean;
